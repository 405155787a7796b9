using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wolverine;

namespace AppRuntime.Benchmarks.SideBySide;

/// <summary>(a) The in-process limit: a bounded <see cref="Channel{T}"/> with 4 reader loops and the same no-op handler.</summary>
public sealed class RawChannelRow(int capacity) : Row
{
    private readonly Channel<BenchTask> _channel = Channel.CreateBounded<BenchTask>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleWriter = false,
        SingleReader = false,
    });
    private Task[] _readers = [];

    public override string Name => "(a) raw Channel<T>, 4 readers";

    public override string Notes => $"Channel.CreateBounded({capacity}), FullMode=Wait; 4 loops of WaitToReadAsync/TryRead.";

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _readers = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(ReadLoopAsync, CancellationToken.None))];
        return Task.CompletedTask;
    }

    private async Task ReadLoopAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var task))
                LatencySink.Record(task.Seq, task.PublishedAt);
        }
    }

    public override ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken)
        => _channel.Writer.TryWrite(task) ? default : _channel.Writer.WriteAsync(task, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await Task.WhenAll(_readers).ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The no-op AppRuntime handler; registered with an explicit factory as the generated module code does.</summary>
public sealed class NoopBenchHandler : ITaskHandler<BenchTask>
{
    public ValueTask HandleAsync(BenchTask task, TaskContext context, CancellationToken cancellationToken)
    {
        LatencySink.Record(task.Seq, task.PublishedAt);
        return default;
    }
}

/// <summary>An ActivityListener that samples every AppRuntime activity with all data, as an OpenTelemetry SDK would.</summary>
public static class Tracing
{
    public static ActivityListener ListenToAppRuntime() => Listen(TraceService.SourceName);

    /// <summary>Samples every activity of the sources whose name starts with <paramref name="sourceName"/>.</summary>
    public static ActivityListener Listen(string sourceName)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith(sourceName, StringComparison.Ordinal),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            SampleUsingParentId = static (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = static _ => { },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}

/// <summary>(b) AppRuntime with the in-memory backend: host, queue (capacity as the raw channel), pool of 4 workers, no-op handler.</summary>
public sealed class AppRuntimeInMemoryRow(int capacity, bool tracing) : HostedRow
{
    private ActivityListener? _listener;
    private ITaskPublisher<BenchTask>? _publisher;

    public override string Name => tracing ? "(b) AppRuntime in-memory, tracing on" : "(b) AppRuntime in-memory, tracing off";

    public override string Notes => $"Queue capacity {capacity}, WorkerPool Workers=4, handler factory sp => new NoopBenchHandler(), ITaskPublisher<T>.PublishAsync"
        + (tracing ? "; ActivityListener on 'AppRuntime' sampling AllDataAndRecorded." : "; no ActivityListener.");

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (tracing)
            _listener = Tracing.ListenToAppRuntime();
        var builder = CreateBuilder();
        builder.AddAppRuntime()
            .AddQueue<BenchTask>(new QueueDefinition("bench", "bench-task") { Capacity = capacity })
            .AddWorkerPool(new WorkerPoolDefinition("bench") { Workers = 4 })
            .AddHandler<BenchTask>("bench", static _ => new NoopBenchHandler());
        var host = await StartHostAsync(builder, cancellationToken).ConfigureAwait(false);
        _publisher = host.Services.GetRequiredService<ITaskPublisher<BenchTask>>();
    }

    public override async ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken)
        => await _publisher!.PublishAsync(task, null, cancellationToken).ConfigureAwait(false);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        _listener?.Dispose();
    }
}

/// <summary>A row whose framework runs in its own generic host: built quiet (warnings only), stopped within 20 s.</summary>
public abstract class HostedRow : Row
{
    private IHost? _host;

    protected static HostApplicationBuilder CreateBuilder()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        return builder;
    }

    protected async Task<IHost> StartHostAsync(HostApplicationBuilder builder, CancellationToken cancellationToken)
    {
        _host = builder.Build();
        await _host.StartAsync(cancellationToken).ConfigureAwait(false);
        return _host;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await _host.StopAsync(stop.Token).ConfigureAwait(false);
            _host.Dispose();
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The MassTransit no-op consumer.</summary>
public sealed class MassTransitNoopConsumer : IConsumer<BenchTask>
{
    public Task Consume(ConsumeContext<BenchTask> context)
    {
        LatencySink.Record(context.Message.Seq, context.Message.PublishedAt);
        return Task.CompletedTask;
    }
}

/// <summary>(c) MassTransit 8.5 in-memory transport: one receive endpoint with ConcurrentMessageLimit=4, tasks sent to it.</summary>
public sealed class MassTransitRow : HostedRow
{
    private ISendEndpoint? _endpoint;

    public override string Name => "(c) MassTransit 8.5.12 in-memory";

    public override string Notes => "UsingInMemory, ReceiveEndpoint('bench-mt') ConcurrentMessageLimit=4, ISendEndpoint.Send per task; no ActivityListener.";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = CreateBuilder();
        builder.Services.AddMassTransit(x =>
        {
            x.AddConsumer<MassTransitNoopConsumer>();
            x.UsingInMemory((context, cfg) =>
            {
                cfg.ReceiveEndpoint("bench-mt", e =>
                {
                    e.ConcurrentMessageLimit = 4;
                    e.ConfigureConsumer<MassTransitNoopConsumer>(context);
                });
            });
        });
        var host = await StartHostAsync(builder, cancellationToken).ConfigureAwait(false);
        var bus = host.Services.GetRequiredService<IBus>();
        _endpoint = await bus.GetSendEndpoint(new Uri("queue:bench-mt")).ConfigureAwait(false);
    }

    public override ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken)
        => new(_endpoint!.Send(task, cancellationToken));
}

/// <summary>The Wolverine no-op handler (included explicitly; conventional discovery is off).</summary>
public static class WolverineNoopHandler
{
    public static void Handle(BenchTask task) => LatencySink.Record(task.Seq, task.PublishedAt);
}

/// <summary>(d) Wolverine 6 local queue: BenchTask routed to a local queue with MaximumParallelMessages(4).</summary>
public sealed class WolverineRow(bool tracing) : HostedRow
{
    private IMessageBus? _bus;
    private ActivityListener? _listener;

    public override string Name => tracing ? "(d) Wolverine 6.62.0 local queue, tracing on" : "(d) Wolverine 6.62.0 local queue, tracing off";

    public override string Notes => "PublishMessage<BenchTask>().ToLocalQueue('bench-wolverine'), LocalQueue MaximumParallelMessages(4) (buffered, non-durable), IMessageBus.PublishAsync per task"
        + (tracing ? "; ActivityListener on 'Wolverine*' sampling AllDataAndRecorded." : "; no ActivityListener.");

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (tracing)
            _listener = Tracing.Listen("Wolverine");
        var builder = CreateBuilder();
        builder.UseWolverine(opts =>
        {
            opts.ApplicationAssembly = typeof(WolverineRow).Assembly;
            opts.UseRuntimeCompilation();
            opts.Discovery.DisableConventionalDiscovery().IncludeType(typeof(WolverineNoopHandler));
            opts.PublishMessage<BenchTask>().ToLocalQueue("bench-wolverine");
            opts.LocalQueue("bench-wolverine").MaximumParallelMessages(4);
        });
        var host = await StartHostAsync(builder, cancellationToken).ConfigureAwait(false);
        _bus = host.MessageBus();
    }

    public override ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken)
        => _bus!.PublishAsync(task);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        _listener?.Dispose();
    }
}
