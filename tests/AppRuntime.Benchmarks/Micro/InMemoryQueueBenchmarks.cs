using System.Threading.Channels;
using AppRuntime.Internal;
using BenchmarkDotNet.Attributes;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>
/// The in-memory queue's own cost, single-threaded: publish, consume (lease), ack. A raw channel write/read is the floor.
/// Each invocation moves <see cref="Batch"/> tasks (publish all, then consume and ack all).
/// </summary>
[MemoryDiagnoser]
public class InMemoryQueueBenchmarks
{
    private const int Batch = 1000;
    private InMemoryTaskQueue<BenchTask> _queue = null!;
    private Channel<BenchTask> _channel = null!;
    private TaskEnvelope<BenchTask>[] _envelopes = null!;
    private readonly BenchTask _payload = new(1, 2);

    [GlobalSetup]
    public void Setup()
    {
        _queue = new InMemoryTaskQueue<BenchTask>(new QueueDefinition("bench", "bench-task") { Capacity = Batch * 2 }, TimeProvider.System);
        _channel = Channel.CreateUnbounded<BenchTask>(new UnboundedChannelOptions { SingleReader = false, SingleWriter = false });
        _envelopes = [.. Enumerable.Range(0, Batch).Select(i => new TaskEnvelope<BenchTask>("t" + i, "bench-task", _payload, DateTimeOffset.UnixEpoch))];
    }

    [GlobalCleanup]
    public ValueTask Cleanup() => _queue.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "raw Channel write + read")]
    public async Task RawChannel()
    {
        for (var i = 0; i < Batch; i++)
            _channel.Writer.TryWrite(_payload);
        for (var i = 0; i < Batch; i++)
            await _channel.Reader.ReadAsync().ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "queue publish + consume + ack (prebuilt envelope)")]
    public async Task PublishConsumeAck()
    {
        for (var i = 0; i < Batch; i++)
            await _queue.PublishAsync(_envelopes[i]).ConfigureAwait(false);
        for (var i = 0; i < Batch; i++)
        {
            var lease = await _queue.ConsumeAsync().ConfigureAwait(false);
            await _queue.AckAsync(lease).ConfigureAwait(false);
        }
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "queue publish + consume + ack (new envelope + GUID id, as ITaskPublisher does)")]
    public async Task PublishConsumeAckWithNewEnvelope()
    {
        for (var i = 0; i < Batch; i++)
        {
            var envelope = new TaskEnvelope<BenchTask>(Guid.NewGuid().ToString("N"), "bench-task", _payload, TimeProvider.System.GetUtcNow());
            await _queue.PublishAsync(envelope).ConfigureAwait(false);
        }
        for (var i = 0; i < Batch; i++)
        {
            var lease = await _queue.ConsumeAsync().ConfigureAwait(false);
            await _queue.AckAsync(lease).ConfigureAwait(false);
        }
    }
}
