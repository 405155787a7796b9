using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>
/// Trace context propagation: publish through <see cref="ITaskPublisher{T}"/> (producer span + traceparent injected into the
/// envelope headers), then consume + ack and start the consumer span from the headers — with and without an ActivityListener.
/// </summary>
[MemoryDiagnoser]
public class TracePropagationBenchmarks
{
    private IHost _host = null!;
    private ITaskPublisher<BenchTask> _publisher = null!;
    private ITaskQueue<BenchTask> _queue = null!;
    private TraceService _trace = null!;
    private ActivityListener? _listener;
    private readonly BenchTask _task = new(1, 2);

    [Params(false, true)]
    public bool Listener { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        if (Listener)
            _listener = RuntimeFixture.Listen();
        _host = await RuntimeFixture.StartAsync(workers: 0).ConfigureAwait(false);
        _publisher = _host.Services.GetRequiredService<ITaskPublisher<BenchTask>>();
        _queue = _host.Services.GetRequiredService<RuntimeManager>().GetQueue<BenchTask>("bench");
        _trace = _host.Services.GetRequiredService<TraceService>();
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
        _listener?.Dispose();
    }

    [Benchmark(Description = "publish (producer span + traceparent) + consume + ack")]
    public async Task<string> PublishConsumeAck()
    {
        var id = await _publisher.PublishAsync(_task).ConfigureAwait(false);
        var lease = await _queue.ConsumeAsync().ConfigureAwait(false);
        await _queue.AckAsync(lease).ConfigureAwait(false);
        return id;
    }

    [Benchmark(Description = "publish + consume + consumer span from headers + ack")]
    public async Task<string> PublishConsumeProcessSpanAck()
    {
        var id = await _publisher.PublishAsync(_task).ConfigureAwait(false);
        var lease = await _queue.ConsumeAsync().ConfigureAwait(false);
        using (_trace.StartProcess(lease.Envelope, "bench"))
        {
            await _queue.AckAsync(lease).ConfigureAwait(false);
        }
        return id;
    }
}
