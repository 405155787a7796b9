using System.Collections.Concurrent;
using System.Diagnostics;
using AppRuntime.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AppRuntime.OpenTelemetry.Tests;

public sealed record Order(int Number);

public sealed class TelemetryTests
{
    /// <summary>A small app: a source publishing N orders into a queue, a pool of 2 workers and a handler that logs and opens a child span.</summary>
    private static IHost BuildApp(int orders, Func<int, bool> fails, Dictionary<string, string?> settings, Action<AppRuntimeTelemetryOptions>? telemetry, ConcurrentBag<int> done)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        var rt = builder.AddAppRuntime(o => o.DrainTimeout = TimeSpan.FromSeconds(10));
        rt.AddQueue<Order>(new QueueDefinition("orders", "Order"));
        rt.AddWorkerPool(new WorkerPoolDefinition("orders") { Workers = 2 });
        rt.AddHandler<Order>("orders", sp => new OrderHandler(sp.GetRequiredService<ITraceFactory>(), sp.GetRequiredService<ILogger<OrderHandler>>(), fails, done));
        rt.AddSource<Order>(new SourceDefinition("order-feed", "orders"), _ => new FeedSource(orders));
        rt.AddTelemetry(telemetry);
        return builder.Build();
    }

    private sealed class OrderHandler(ITraceFactory trace, ILogger<OrderHandler> log, Func<int, bool> fails, ConcurrentBag<int> done) : ITaskHandler<Order>
    {
        public ValueTask HandleAsync(Order task, TaskContext context, CancellationToken cancellationToken)
        {
            using var span = trace.StartActivity("order.store");
            log.LogInformation("Storing order {Number}", task.Number);
            done.Add(task.Number);
            if (fails(task.Number))
                throw new PermanentTaskException($"order {task.Number} is invalid");
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FeedSource(int count) : ITaskSource<Order>
    {
        public async Task RunAsync(ITaskSourceContext<Order> context, CancellationToken cancellationToken)
        {
            for (var i = 1; i <= count; i++)
                await context.PublishAsync(new Order(i), null, cancellationToken);
            context.RecordEvent("poll");
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    [Fact]
    public async Task One_task_is_one_trace_from_source_publish_to_handler_span_and_its_logs_carry_the_ids()
    {
        var spans = new List<Activity>();
        var logs = new List<LogRecord>();
        var done = new ConcurrentBag<int>();
        using var app = BuildApp(1, _ => false, [], o =>
        {
            o.ConfigureTracing = t => t.AddInMemoryExporter(spans);
            o.ConfigureLogging = l => l.AddInMemoryExporter(logs);
        }, done);

        await app.StartAsync();
        await Eventually.TrueAsync(() => { lock (spans) return spans.Any(s => s.OperationName == "process orders"); }, "the process span was exported");
        await app.StopAsync();

        List<Activity> exported;
        lock (spans)
            exported = [.. spans];
        var publish = Assert.Single(exported, s => s.OperationName == "publish orders");
        var process = Assert.Single(exported, s => s.OperationName == "process orders");
        var store = Assert.Single(exported, s => s.OperationName == "order.store");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal(process.SpanId, store.ParentSpanId);
        Assert.All([process, store], s => Assert.Equal(publish.TraceId, s.TraceId));
        Assert.Equal("orders", publish.GetTagItem("messaging.destination.name"));
        Assert.Equal("send", publish.GetTagItem("messaging.operation.type"));
        Assert.Equal("process", process.GetTagItem("messaging.operation.type"));
        Assert.Equal(publish.GetTagItem("messaging.message.id"), process.GetTagItem("messaging.message.id"));

        LogRecord stored;
        lock (logs)
            stored = Assert.Single(logs, l => l.FormattedMessage == "Storing order 1");
        Assert.Equal(publish.TraceId, stored.TraceId);
        Assert.Equal(store.SpanId, stored.SpanId);
    }

    [Fact]
    public async Task Metrics_match_the_work_done()
    {
        var metrics = new List<Metric>();
        var done = new ConcurrentBag<int>();
        using var app = BuildApp(10, n => n % 4 == 0, [], o => o.ConfigureMetrics = m => m.AddInMemoryExporter(metrics), done);

        await app.StartAsync();
        var queue = app.Services.GetRequiredService<RuntimeManager>().GetQueue<Order>("orders");
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()) is { Acked: 8, DeadLettered: 2 }, "8 orders processed and 2 dead-lettered");
        // The counters are recorded once the queue has confirmed each outcome, so the last ones may lag the queue's own stats
        // by a moment: collect until the last outcome's counter is in, then compare everything.
        await Eventually.TrueAsync(() =>
        {
            app.Services.GetRequiredService<MeterProvider>().ForceFlush();
            // The duration is recorded when a delivery ends, after its outcome was counted; the published count and the source
            // event after the publish returned: wait for all of them, then compare.
            return Sum("appruntime.tasks.dead_lettered") == 2 && Sum("appruntime.tasks.processed") == 8 && Sum("appruntime.tasks.failed") == 2
                && Sum("appruntime.tasks.published") == 10 && Sum("appruntime.source.events") == 1 && DurationCount() == 10;
        }, "the counters of the last outcomes are collected");

        long DurationCount()
        {
            lock (metrics)
            {
                if (metrics.LastOrDefault(m => m.Name == "appruntime.task.duration") is not { } duration)
                    return 0;
                var count = 0L;
                foreach (ref readonly var p in duration.GetMetricPoints())
                    count += p.GetHistogramCount();
                return count;
            }
        }

        long Sum(string name)
        {
            lock (metrics)
            {
                var total = 0L;
                foreach (var m in metrics.Where(m => m.Name == name))
                    foreach (ref readonly var p in m.GetMetricPoints())
                        total = Math.Max(total, p.GetSumLong());
                return total;
            }
        }

        Assert.Equal(10, Sum("appruntime.tasks.published"));
        Assert.Equal(8, Sum("appruntime.tasks.processed"));
        Assert.Equal(2, Sum("appruntime.tasks.failed"));
        Assert.Equal(2, Sum("appruntime.tasks.dead_lettered"));
        Assert.Equal(1, Sum("appruntime.source.events"));
        Assert.Equal(10, DurationCount());
        lock (metrics)
        {
            Assert.Contains(metrics, m => m.Name == "appruntime.queue.depth");
            Assert.Contains(metrics, m => m.Name == "appruntime.queue.dead_lettered");
            Assert.Contains(metrics, m => m.Name == "appruntime.workers.busy");
        }
        await app.StopAsync();
    }

    [Fact]
    public async Task Otlp_http_protobuf_from_the_standard_environment_keys_posts_traces_metrics_and_logs()
    {
        await using var receiver = await OtlpReceiver.StartAsync(HttpProtocols.Http1);
        var done = new ConcurrentBag<int>();
        using var app = BuildApp(3, _ => false, new()
        {
            // Read exactly as the OTEL_* environment variables are: through IConfiguration.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.BaseAddress,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "otlp-test",
        }, null, done);

        await app.StartAsync();
        await Eventually.TrueAsync(() => done.Count == 3, "3 orders handled");
        await app.StopAsync();

        // The stop flushes every provider, but a batch processor's flush returns once its records are taken for export: a
        // periodic export (every second for logs) that took them just before may still be posting. So wait for the bytes.
        await Eventually.TrueAsync(() => receiver.BytesFor("/v1/traces") > 0, "traces were posted", TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(() => receiver.BytesFor("/v1/metrics") > 0, "metrics were posted on flush", TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(() => receiver.BytesFor("/v1/logs") > 0, "logs were posted", TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Otlp_grpc_from_appruntime_configuration_posts_traces_and_metrics()
    {
        await using var receiver = await OtlpReceiver.StartAsync(HttpProtocols.Http2);
        var done = new ConcurrentBag<int>();
        using var app = BuildApp(2, _ => false, new()
        {
            ["AppRuntime:Telemetry:Otlp:Endpoint"] = receiver.BaseAddress,
            ["AppRuntime:Telemetry:Otlp:Protocol"] = "grpc",
            ["AppRuntime:Telemetry:ServiceName"] = "grpc-test",
        }, null, done);

        await app.StartAsync();
        await Eventually.TrueAsync(() => done.Count == 2, "2 orders handled");
        await app.StopAsync();

        await Eventually.TrueAsync(() => receiver.BytesFor("/opentelemetry.proto.collector.trace.v1.TraceService/Export") > 0, "traces were exported over gRPC", TimeSpan.FromSeconds(15));
        await Eventually.TrueAsync(() => receiver.BytesFor("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export") > 0, "metrics were exported over gRPC", TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task Invalid_telemetry_settings_name_their_key()
    {
        // Reported when the runtime starts, with every other configuration error.
        using var host = BuildApp(0, _ => false, new() { ["AppRuntime:Telemetry:Otlp:Protocol"] = "carrier-pigeon" }, null, []);
        var ex = await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());
        Assert.Equal("AppRuntime:Telemetry:Otlp:Protocol", Assert.Single(ex.Errors).KeyPath);
    }

    /// <summary>A local OTLP collector stand-in on real Kestrel: records how many bytes each path received.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, long> _bytes = new();

        private OtlpReceiver(WebApplication app) => _app = app;

        public string BaseAddress { get; private set; } = "";

        public long BytesFor(string path) => _bytes.TryGetValue(path, out var n) ? n : 0;

        public static async Task<OtlpReceiver> StartAsync(HttpProtocols protocols)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = protocols));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.Run(async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                receiver._bytes.AddOrUpdate(context.Request.Path.Value ?? "", body.Length, (_, n) => n + body.Length);
                if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
                {
                    // An empty Export*ServiceResponse: a 5-byte gRPC frame with length 0, then grpc-status 0.
                    context.Response.ContentType = "application/grpc";
                    await context.Response.Body.WriteAsync(new byte[5]);
                    context.Response.AppendTrailer("grpc-status", "0");
                }
                else
                {
                    context.Response.ContentType = "application/x-protobuf";
                }
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            receiver.BaseAddress = address;
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_no_exporter_and_no_callback_no_OpenTelemetry_SDK_is_added_yet_tasks_keep_their_trace_ids_and_naming_an_exporter_adds_it()
    {
        var done = new ConcurrentBag<int>();
        using var bare = BuildApp(1, _ => false, [], null, done);
        Assert.Null(bare.Services.GetService<TracerProvider>());
        Assert.Null(bare.Services.GetService<MeterProvider>());
        await bare.StartAsync();
        var control = bare.Services.GetRequiredService<ControlPlaneService>();
        await Eventually.TrueAsync(() => control.GetRecentTraces().Any(r => r.Queue == "orders"), "the task's trace record was written");
        await bare.StopAsync();
        Assert.Matches("^[0-9a-f]{32}$", Assert.Single(control.GetRecentTraces(), r => r.Queue == "orders").TraceId);

        using var console = BuildApp(1, _ => false, new() { ["AppRuntime:Telemetry:Exporters"] = "console" }, null, []);
        Assert.NotNull(console.Services.GetService<TracerProvider>());
        Assert.NotNull(console.Services.GetService<MeterProvider>());

        using var custom = BuildApp(1, _ => false, [], o => o.ConfigureMetrics = _ => { }, []);
        Assert.NotNull(custom.Services.GetService<MeterProvider>());
    }
}
