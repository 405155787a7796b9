using System.Text.Json.Serialization;
using AppRuntime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WebhookBenchmark;

// Usage (bench.sh runs these):
//   dotnet AppRuntime.Webhooks.Benchmark.dll empty --port 5601
//   dotnet AppRuntime.Webhooks.Benchmark.dll webhook --port 5602 [--backend Redis --redis 127.0.0.1:6397 --prefix bench-1]
// Both log warnings only and print "ready" when they listen; on SIGTERM the webhook app prints what its handler saw.
var mode = args.Length > 0 ? args[0] : "empty";
var port = Option("--port", "5601");
if (mode == "empty")
{
    var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
    web.Logging.SetMinimumLevel(LogLevel.Warning);
    web.WebHost.UseUrls($"http://127.0.0.1:{port}");
    var app = web.Build();
    app.MapPost("/hooks/bench", static () => Results.StatusCode(StatusCodes.Status202Accepted));
    await app.StartAsync();
    Console.WriteLine("ready");
    await app.WaitForShutdownAsync();
    return 0;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args =
    [
        $"--AppRuntime:Webhooks:Urls=http://127.0.0.1:{port}",
        $"--AppRuntime:Webhooks:Sources:bench:Secrets:0={Bench.Secret}",
        $"--AppRuntime:DefaultBackend={Option("--backend", "InMemory")}",
        $"--AppRuntime:Redis:Configuration={Option("--redis", "127.0.0.1:6397")}",
        $"--AppRuntime:Redis:KeyPrefix={Option("--prefix", "webhook-bench")}",
    ],
});
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.AddAppRuntime().AddRedisQueues().AddBenchModule();
using var host = builder.Build();
await host.StartAsync();
Console.WriteLine("ready");
await host.WaitForShutdownAsync();
Console.WriteLine($"handled {NoopHandler.Handled}");
return 0;

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

namespace WebhookBenchmark
{
    public sealed record Repository([property: JsonPropertyName("full_name")] string FullName);

    public sealed record PushEvent(
        [property: JsonPropertyName("ref")] string Ref,
        [property: JsonPropertyName("after")] string After,
        [property: JsonPropertyName("repository")] Repository Repository);

    [ApplicationModule("webhook-bench")]
    [TaskQueue<PushEvent>("bench")]
    [WorkerPool("bench", Workers = 4)]
    public static partial class BenchModule;

    /// <summary>GitHub's scheme: the body is signed, the delivery id (the event id) is not, so wrk can send one body with fresh ids.</summary>
    [WebhookSource("bench", Name = "bench", Path = "/hooks/bench", Signature = WebhookSignature.GitHub)]
    public sealed class BenchWebhook : IWebhookSource<PushEvent>;

    [TaskHandler("bench")]
    public sealed class NoopHandler : ITaskHandler<PushEvent>
    {
        private static long s_handled;

        public static long Handled => Interlocked.Read(ref s_handled);

        public ValueTask HandleAsync(PushEvent task, TaskContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref s_handled);
            return ValueTask.CompletedTask;
        }
    }

    public static class Bench
    {
        public const string Secret = "bench-secret-0123456789";
    }
}
