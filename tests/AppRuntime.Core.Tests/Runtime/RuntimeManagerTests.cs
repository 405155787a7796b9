using System.Collections.Concurrent;
using AppRuntime.TestSupport;

namespace AppRuntime.Core.Tests.Runtime;

public sealed class RuntimeManagerTests
{
    private static void Compose(IAppRuntimeBuilder b, ListSource<Job> source, Recorder<Job> recorder, int workers = 2, int capacity = 1000)
    {
        b.AddModule(new ModuleTopology("test", [new SourceNode("jobs-source", "jobs", "ListSource")], [new QueueNode("jobs", "Job", capacity)], [new PoolNode("jobs", workers, 5)], [new HandlerNode("jobs", "DelegateHandler")]));
        b.AddQueue<Job>(new QueueDefinition("jobs", "Job") { Capacity = capacity });
        b.AddWorkerPool(new WorkerPoolDefinition("jobs") { Workers = workers });
        b.AddHandler<Job>("jobs", _ => new DelegateHandler<Job>((job, _, _) =>
        {
            recorder.Handled.Add(job);
            return ValueTask.CompletedTask;
        }));
        b.AddSource<Job>(new SourceDefinition("jobs-source", "jobs"), _ => source);
        b.AddOutcomeObserver<Job>("jobs", _ => recorder);
    }

    [Fact]
    public async Task Tasks_flow_from_source_through_queue_and_pool_to_handler()
    {
        var recorder = new Recorder<Job>();
        var source = new ListSource<Job>([.. Enumerable.Range(1, 20).Select(i => new Job(i))]);
        await using var rt = new TestRuntime(b => Compose(b, source, recorder));

        await rt.StartAsync();
        Assert.Equal(RuntimeState.Running, rt.Runtime.State);
        await Eventually.TrueAsync(() => recorder.Succeeded.Count == 20, "all 20 jobs acked and reported to the observer");
        // The pool counts a task when its delivery returns (after the observer), the source when the publish returned.
        await Eventually.TrueAsync(async () => (await rt.Control.GetStatusAsync()) is { } s && s.Pools[0].Processed == 20 && s.Sources[0].Published == 20,
            "the pool and the source count all 20");

        Assert.Equal(Enumerable.Range(1, 20), recorder.Handled.Select(j => j.Number).Order());
        var status = await rt.Control.GetStatusAsync();
        var queue = Assert.Single(status.Queues);
        Assert.Equal(20, queue.Stats.Published);
        Assert.Equal(20, queue.Stats.Acked);
        Assert.Equal("InMemory", queue.Backend);
        Assert.Equal(20, Assert.Single(status.Pools).Processed);
        Assert.Equal(20, Assert.Single(status.Sources).Published);
    }

    [Fact]
    public async Task State_moves_through_starting_running_stopping_stopped()
    {
        var states = new ConcurrentQueue<RuntimeState>();
        var recorder = new Recorder<Job>();
        await using var rt = new TestRuntime(b => Compose(b, new ListSource<Job>([]), recorder));
        rt.Runtime.StateChanged += (_, s) => states.Enqueue(s);
        Assert.Equal(RuntimeState.Created, rt.Runtime.State);

        await rt.StartAsync();
        await rt.StopAsync();

        Assert.Equal([RuntimeState.Starting, RuntimeState.Running, RuntimeState.Stopping, RuntimeState.Stopped], states.ToArray());
        Assert.NotNull(rt.Runtime.StartedAt);
    }

    [Fact]
    public async Task Start_fails_naming_every_composition_problem()
    {
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("jobs", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("jobs"));
            b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
            b.AddHandler<string>("jobs-text", _ => new DelegateHandler<string>((_, _, _) => ValueTask.CompletedTask));
            b.AddQueue<int>(new QueueDefinition("jobs-text", "Number"));
            b.AddSource<string>(new SourceDefinition("feed", "missing"), _ => new ListSource<string>([]));
        });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(rt.StartAsync);

        Assert.Contains("queue 'orders', which is not declared", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Worker pool 'jobs' has no handler", ex.Message, StringComparison.Ordinal);
        Assert.Contains("handles String, but queue 'jobs-text' carries Number", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Source 'feed' publishes to queue 'missing'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RuntimeState.Faulted, rt.Runtime.State);
        Assert.Equal(ex.Message, rt.Runtime.FaultReason);
    }

    [Fact]
    public async Task Duplicate_declarations_are_reported_at_start()
    {
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("jobs", "Job"));
            b.AddQueue<Job>(new QueueDefinition("jobs", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("jobs"));
            b.AddWorkerPool(new WorkerPoolDefinition("jobs"));
            b.AddHandler<Job>("jobs", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
            b.AddHandler<Job>("jobs", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(rt.StartAsync);

        Assert.Contains("Two queues are named 'jobs'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Two worker pools are declared for queue 'jobs'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Two handlers are registered for queue 'jobs'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Graceful_shutdown_loses_no_task()
    {
        const int total = 300;
        var acked = new ConcurrentBag<int>();
        var handledOnce = new ConcurrentDictionary<int, int>();
        var started = 0;
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("work", "Job") { Capacity = total });
            b.AddWorkerPool(new WorkerPoolDefinition("work") { Workers = 4 });
            b.AddHandler<Job>("work", _ => new DelegateHandler<Job>(async (job, _, ct) =>
            {
                // The first 100 tasks finish at once; the rest block until shutdown cancels them mid-flight.
                if (Interlocked.Increment(ref started) > 100)
                    await Task.Delay(Timeout.Infinite, ct);
                handledOnce.AddOrUpdate(job.Number, 1, (_, n) => n + 1);
            }));
            b.AddOutcomeObserver<Job>("work", _ => new ActionObserver<Job>(e => acked.Add(e.Payload.Number)));
        }, options: o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(300));

        await rt.StartAsync();
        var publisher = (ITaskPublisher<Job>)rt.Provider.GetService(typeof(ITaskPublisher<Job>))!;
        for (var i = 1; i <= total; i++)
            await publisher.PublishAsync(new Job(i), new TaskPublishOptions { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await Eventually.TrueAsync(() => acked.Count == 100 && Volatile.Read(ref started) >= 104, "100 tasks done and 4 workers blocked mid-flight");

        await rt.StopAsync();

        var queue = rt.Queue<Job>("work");
        var stats = await queue.GetStatsAsync();
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(total, stats.Published);
        Assert.Equal(100, stats.Acked);
        Assert.Equal(total - 100, stats.Depth + stats.Delayed);

        // Everything not acked is still in the queue, exactly once: drain it directly.
        var remaining = new List<int>();
        for (var i = 0; i < total - 100; i++)
        {
            var lease = await queue.ConsumeAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            remaining.Add(lease.Envelope.Payload.Number);
            await queue.AckAsync(lease);
        }
        var all = acked.Concat(remaining).Order().ToList();
        Assert.Equal(Enumerable.Range(1, total), all);
        Assert.All(handledOnce.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Drain_on_stop_lets_workers_finish_the_queue_before_stopping()
    {
        var handled = 0;
        var gate = new TaskCompletionSource();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("drain", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("drain") { Workers = 2 });
            b.AddHandler<Job>("drain", _ => new DelegateHandler<Job>(async (_, _, _) =>
            {
                await gate.Task;
                Interlocked.Increment(ref handled);
            }));
        }, options: o => o.DrainTimeout = TimeSpan.FromSeconds(30));
        await rt.StartAsync();
        var publisher = (ITaskPublisher<Job>)rt.Provider.GetService(typeof(ITaskPublisher<Job>))!;
        for (var i = 0; i < 50; i++)
            await publisher.PublishAsync(new Job(i));

        var stop = rt.StopAsync();
        Assert.False(stop.IsCompleted);
        gate.SetResult();
        await stop;

        Assert.Equal(50, handled);
        Assert.Equal(RuntimeState.Stopped, rt.Runtime.State);
    }
}

internal sealed class ActionObserver<T>(Action<TaskEnvelope<T>> succeeded, Action<TaskEnvelope<T>, string>? deadLettered = null) : ITaskOutcomeObserver<T>
{
    public ValueTask OnSucceededAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken)
    {
        succeeded(envelope);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnDeadLetteredAsync(TaskEnvelope<T> envelope, string reason, CancellationToken cancellationToken)
    {
        deadLettered?.Invoke(envelope, reason);
        return ValueTask.CompletedTask;
    }
}
