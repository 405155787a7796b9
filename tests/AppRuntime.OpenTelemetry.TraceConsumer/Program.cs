// Usage: AppRuntime.OpenTelemetry.TraceConsumer --redis HOST:PORT --prefix P --queue Q --count N --out FILE
// Consumes N tasks of queue Q (Redis backend) through the runtime with OpenTelemetry tracing, stops gracefully (which
// flushes telemetry) and writes one line per exported "process Q" span: traceId spanId parentSpanId messageId.
using System.Diagnostics;
using AppRuntime;
using AppRuntime.OpenTelemetry.TraceConsumer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
    options[args[i].TrimStart('-')] = args[i + 1];
var queue = options["queue"];
var count = int.Parse(options["count"], System.Globalization.CultureInfo.InvariantCulture);

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["AppRuntime:Redis:Configuration"] = options["redis"],
    ["AppRuntime:Redis:KeyPrefix"] = options["prefix"],
    [$"AppRuntime:Queues:{queue}:Backend"] = "Redis",
});
var spans = new List<Activity>();
var handled = 0;
var done = new TaskCompletionSource();
var runtime = builder.AddAppRuntime(o => o.DrainTimeout = TimeSpan.Zero).AddRedisQueues();
runtime.AddQueue(new QueueDefinition(queue, "TraceTask"), TraceTaskJson.Serializer);
runtime.AddWorkerPool(new WorkerPoolDefinition(queue) { Workers = 2 });
runtime.AddHandler<TraceTask>(queue, _ => new CountingHandler(() =>
{
    if (Interlocked.Increment(ref handled) == count)
        done.TrySetResult();
}));
runtime.AddTelemetry(t => t.ConfigureTracing = b => b.AddInMemoryExporter(spans));

using var host = builder.Build();
await host.StartAsync();
await done.Task.WaitAsync(TimeSpan.FromSeconds(60));
await host.StopAsync();

var lines = new List<string>();
lock (spans)
{
    foreach (var s in spans.Where(s => s.OperationName == "process " + queue))
        lines.Add($"{s.TraceId.ToHexString()} {s.SpanId.ToHexString()} {s.ParentSpanId.ToHexString()} {s.GetTagItem("messaging.message.id")}");
}
await File.WriteAllLinesAsync(options["out"], lines);
Console.WriteLine($"trace-consumer: handled {handled}, wrote {lines.Count} process spans");
return 0;

internal sealed class CountingHandler(Action onHandled) : ITaskHandler<TraceTask>
{
    public ValueTask HandleAsync(TraceTask task, TaskContext context, CancellationToken cancellationToken)
    {
        onHandled();
        return ValueTask.CompletedTask;
    }
}
