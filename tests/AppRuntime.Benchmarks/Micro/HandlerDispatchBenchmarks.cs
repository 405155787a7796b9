using AppRuntime.Internal;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>
/// Handler dispatch as the generated module code wires it (<c>AddHandler&lt;T&gt;(queue, sp =&gt; new Handler(sp.GetRequiredService&lt;...&gt;()))</c>):
/// the per-task steps the worker runs (DI scope, TaskContext, factory, HandleAsync, scope disposal), and the whole path
/// publish → worker → handler → ack through a started runtime with 1 and 4 workers.
/// </summary>
[MemoryDiagnoser]
public class HandlerDispatchBenchmarks
{
    private const int Batch = 1000;
    private IHost _host = null!;
    private IServiceScopeFactory _scopes = null!;
    private ITaskPublisher<BenchTask> _publisher = null!;
    private readonly Func<IServiceProvider, ITaskHandler<BenchTask>> _factory = static sp => new CountingHandler(sp.GetRequiredService<TimeProvider>());
    private readonly TaskEnvelope<BenchTask> _envelope = new("task-1", "bench-task", new BenchTask(1, 2), DateTimeOffset.UnixEpoch) { Attempt = 1 };
    private CountingHandler _cached = null!;

    [Params(1, 4)]
    public int Workers { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _host = await RuntimeFixture.StartAsync(Workers).ConfigureAwait(false);
        _scopes = _host.Services.GetRequiredService<IServiceScopeFactory>();
        _publisher = _host.Services.GetRequiredService<ITaskPublisher<BenchTask>>();
        _cached = new CountingHandler(TimeProvider.System);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "direct HandleAsync on a cached handler")]
    public async Task Direct()
    {
        _ = Countdown.Start(Batch);
        var context = new TaskContext("bench", _envelope.Id, 1, 5, _envelope.EnqueuedAt, _envelope.Headers, _host.Services);
        for (var i = 0; i < Batch; i++)
            await _cached.HandleAsync(_envelope.Payload, context, CancellationToken.None).ConfigureAwait(false);
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "dispatch steps of a handler that needs a scope: scope + TaskContext (public constructor) + generated factory + HandleAsync")]
    public async Task ScopedFactoryDispatch()
    {
        _ = Countdown.Start(Batch);
        for (var i = 0; i < Batch; i++)
        {
            var scope = _scopes.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var context = new TaskContext("bench", _envelope.Id, _envelope.Attempt, 5, _envelope.EnqueuedAt, _envelope.Headers, scope.ServiceProvider);
                var handler = _factory(scope.ServiceProvider);
                await handler.HandleAsync(_envelope.Payload, context, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "end to end: ITaskPublisher → queue → worker pool → handler → ack")]
    public async Task EndToEnd()
    {
        var done = Countdown.Start(Batch);
        var task = new BenchTask(1, 2);
        for (var i = 0; i < Batch; i++)
            await _publisher.PublishAsync(task).ConfigureAwait(false);
        await done.ConfigureAwait(false);
    }
}
