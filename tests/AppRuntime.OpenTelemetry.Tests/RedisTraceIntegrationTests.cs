using System.Diagnostics;
using AppRuntime.OpenTelemetry.TraceConsumer;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace AppRuntime.OpenTelemetry.Tests;

/// <summary>One trace across Redis: the producer in this process, the consumer in a child process.</summary>
[Trait("Category", "Integration")]
public sealed class RedisTraceIntegrationTests
{
    private static string Redis => Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6390";

    [Fact]
    public async Task Publish_in_one_process_and_process_in_another_are_one_trace_per_task()
    {
        const int count = 5;
        var queue = "otel-" + Guid.NewGuid().ToString("N")[..8];
        var prefix = "otel" + Guid.NewGuid().ToString("N")[..8];
        await AssertRedisReachableAsync();

        // Producer: a source publishing into the Redis queue; no worker pool here.
        var spans = new List<Activity>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AppRuntime:Redis:Configuration"] = Redis,
            ["AppRuntime:Redis:KeyPrefix"] = prefix,
            [$"AppRuntime:Queues:{queue}:Backend"] = "Redis",
        });
        var runtime = builder.AddAppRuntime(o => o.DrainTimeout = TimeSpan.Zero).AddRedisQueues();
        runtime.AddQueue(new QueueDefinition(queue, "TraceTask"), TraceTaskJson.Serializer);
        runtime.AddSource<TraceTask>(new SourceDefinition("trace-feed", queue), _ => new Feed(count));
        runtime.AddTelemetry(t => t.ConfigureTracing = b => b.AddInMemoryExporter(spans));
        using (var producer = builder.Build())
        {
            await producer.StartAsync();
            await Eventually.TrueAsync(() => { lock (spans) return spans.Count(s => s.OperationName == "publish " + queue) == count; }, "all publish spans exported");
            await producer.StopAsync();
        }

        // Consumer: a separate process.
        var output = Path.Combine(Path.GetTempPath(), $"trace-consumer-{queue}.txt");
        // Run the consumer from its own output folder: its runtimeconfig and deps differ from this test project's.
        var dll = Path.Combine(AppContext.BaseDirectory.Replace("AppRuntime.OpenTelemetry.Tests", "AppRuntime.OpenTelemetry.TraceConsumer", StringComparison.Ordinal), "AppRuntime.OpenTelemetry.TraceConsumer.dll");
        Assert.True(File.Exists(dll), $"the consumer was not built at {dll}");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { dll, "--redis", Redis, "--prefix", prefix, "--queue", queue, "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", output })
            start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        await child.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token);
        Assert.True(child.ExitCode == 0, $"consumer failed: {await stdout}{await stderr}");

        var processed = (await File.ReadAllLinesAsync(output)).Select(l => l.Split(' ')).ToList();
        File.Delete(output);
        List<Activity> published;
        lock (spans)
            published = [.. spans.Where(s => s.OperationName == "publish " + queue)];
        Assert.Equal(count, processed.Count);
        foreach (var p in published)
        {
            var match = Assert.Single(processed, line => line[3] == (string?)p.GetTagItem("messaging.message.id"));
            Assert.Equal(p.TraceId.ToHexString(), match[0]);
            Assert.Equal(p.SpanId.ToHexString(), match[2]);
        }
        Assert.Equal(count, published.Select(p => p.TraceId).Distinct().Count());
    }

    private static async Task AssertRedisReachableAsync()
    {
        try
        {
            await using var c = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Redis + ",abortConnect=true,connectTimeout=3000");
        }
        catch (StackExchange.Redis.RedisConnectionException ex)
        {
            throw new InvalidOperationException($"Redis is not reachable at {Redis} (APPRUNTIME_REDIS): start it with: bash tests/infra/redis.sh start", ex);
        }
    }

    private sealed class Feed(int count) : ITaskSource<TraceTask>
    {
        public async Task RunAsync(ITaskSourceContext<TraceTask> context, CancellationToken cancellationToken)
        {
            for (var i = 0; i < count; i++)
                await context.PublishAsync(new TraceTask(i), null, cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
