using System.Collections.Concurrent;
using AppRuntime.Internal;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Core.Tests.Workers;

/// <summary>
/// A worker takes its next task while the settlement of its last one waits for the backend (a Redis round trip), up to
/// <see cref="PoolOptions.MaxSettling"/> settlements per worker (<c>AppRuntime:Pools:&lt;queue&gt;:MaxSettling</c>); the observers still hear of a task only once the
/// queue recorded its outcome, and a stopping worker waits for its settlements. The acks are held open by the test's backend.
/// </summary>
public sealed class PipelinedSettlementTests
{
    /// <summary>The test's ack gate. Disposing it releases every hold, so a failing test ends instead of waiting on a held ack.</summary>
    private sealed class Acks : IDisposable
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _holds = new(StringComparer.Ordinal);
        private int _entered;

        public bool HoldAll { get; set; } = true;

        public int Entered => Volatile.Read(ref _entered);

        public Task? Hold(string id)
        {
            if (!HoldAll)
                return null;
            Interlocked.Increment(ref _entered);
            return _holds.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        public void Release(string id) => _holds.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        public void Fail(string id, Exception error) =>
            _holds.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetException(error);

        public void Dispose()
        {
            HoldAll = false;
            foreach (var hold in _holds.Values)
                hold.TrySetResult();
        }

        public bool IsHeld(string id) => _holds.TryGetValue(id, out var hold) && !hold.Task.IsCompleted;
    }

    private static TestRuntime Create(Acks acks, Recorder<Job> recorder, ConcurrentQueue<int> handled, Func<string, Exception?>? ackFault = null,
        TimeSpan? visibility = null, int? maxSettling = null)
    {
        var backend = new InterceptingBackend("Slow", new InMemoryQueueBackend(TimeProvider.System), () => null, holdAck: acks.Hold, ackFault: ackFault);
        return new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("work", "Job") { Backend = "Slow", VisibilityTimeout = visibility ?? TimeSpan.FromMinutes(5) });
            b.AddWorkerPool(new WorkerPoolDefinition("work") { Workers = 1, RestartDelay = TimeSpan.FromMilliseconds(20), MaxRestartDelay = TimeSpan.FromMilliseconds(20) });
            b.AddHandler<Job>("work", _ => new DelegateHandler<Job>((job, _, _) =>
            {
                handled.Enqueue(job.Number);
                return ValueTask.CompletedTask;
            }));
            b.AddOutcomeObserver<Job>("work", _ => recorder);
        }, settings: maxSettling is { } bound ? new Dictionary<string, string?> { ["AppRuntime:Pools:work:MaxSettling"] = bound.ToString(System.Globalization.CultureInfo.InvariantCulture) } : null,
        services: s => s.AddSingleton<ITaskQueueBackend>(backend));
    }

    private static async Task PublishAsync(TestRuntime rt, params int[] numbers)
    {
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        foreach (var n in numbers)
            await publisher.PublishAsync(new Job(n), new TaskPublishOptions { Id = $"job-{n}" });
    }

    [Fact]
    public async Task A_worker_handles_its_next_task_while_an_ack_is_in_flight_and_the_observer_waits_for_that_ack()
    {
        var acks = new Acks();
        var recorder = new Recorder<Job>();
        var handled = new ConcurrentQueue<int>();
        await using var rt = Create(acks, recorder, handled);
        using var releaseHolds = acks; // disposed before rt
        await rt.StartAsync();

        await PublishAsync(rt, 1, 2);

        // One worker: task 2 is handled while the ack of task 1 has not reached the queue.
        await Eventually.TrueAsync(() => handled.Count == 2, "both handled");
        Assert.True(acks.IsHeld("job-1"));
        Assert.Empty(recorder.Succeeded);                 // nobody is told of a success the queue has not recorded
        Assert.Equal(0, (await rt.Queue<Job>("work").GetStatsAsync()).Acked);

        acks.Release("job-1");
        await Eventually.TrueAsync(() => recorder.Succeeded.Any(e => e.Id == "job-1"), "task 1's observer told after its ack");
        Assert.DoesNotContain(recorder.Succeeded, e => e.Id == "job-2");
        acks.Release("job-2");
        await Eventually.TrueAsync(() => recorder.Succeeded.Count == 2, "task 2's observer told after its ack");
        Assert.Equal(2, (await rt.Queue<Job>("work").GetStatsAsync()).Acked);
        await Eventually.TrueAsync(() => rt.Runtime.Supervisor.GetPool("work").GetSnapshot().Workers[0].Processed == 2, "both counted");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(0)]   // 0: each task is settled before the next is taken
    public async Task A_worker_keeps_at_most_its_configured_bound_of_settlements_in_flight(int bound)
    {
        var acks = new Acks();
        var recorder = new Recorder<Job>();
        var handled = new ConcurrentQueue<int>();
        await using var rt = Create(acks, recorder, handled, maxSettling: bound);
        using var releaseHolds = acks; // disposed before rt
        await rt.StartAsync();

        await PublishAsync(rt, [.. Enumerable.Range(1, 10)]);

        // The bound's acks in flight, plus the one whose settlement made it full: the worker then waits for the oldest.
        await Eventually.TrueAsync(() => acks.Entered == bound + 1, $"{bound + 1} acks started");
        Assert.Equal(bound + 1, handled.Count);

        // Each ack that ends lets exactly one more task in.
        acks.Release("job-1");
        await Eventually.TrueAsync(() => acks.Entered == bound + 2, "one more ack started");
        Assert.Equal(bound + 2, handled.Count);
        Assert.Equal([1], recorder.Succeeded.Select(e => int.Parse(e.Id[4..], System.Globalization.CultureInfo.InvariantCulture)));

        for (var i = 2; i <= 10; i++)
            acks.Release($"job-{i}");
        await Eventually.TrueAsync(() => recorder.Succeeded.Count == 10, "all ten settled");
        Assert.Equal(Enumerable.Range(1, 10), handled.Order());
    }

    [Fact]
    public async Task Stopping_waits_for_the_settlements_in_flight()
    {
        var acks = new Acks();
        var recorder = new Recorder<Job>();
        var handled = new ConcurrentQueue<int>();
        await using var rt = Create(acks, recorder, handled);
        using var releaseHolds = acks; // disposed before rt
        await rt.StartAsync();
        await PublishAsync(rt, 1);
        await Eventually.TrueAsync(() => acks.Entered == 1, "the ack is in flight");

        var stopping = rt.StopAsync();
        // A bounded wait for something that must not happen: the stop cannot end while the ack is held.
        await Assert.ThrowsAsync<TimeoutException>(() => stopping.WaitAsync(TimeSpan.FromMilliseconds(300)));

        acks.Release("job-1");
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(recorder.Succeeded);                // told before the stop returned
        Assert.Equal(1, (await rt.Queue<Job>("work").GetStatsAsync()).Acked);
    }

    [Fact]
    public async Task A_settlement_that_fails_faults_the_worker_and_the_task_comes_back_after_its_lease()
    {
        var acks = new Acks { HoldAll = false };
        var recorder = new Recorder<Job>();
        var handled = new ConcurrentQueue<int>();
        var failures = 1;
        await using var rt = Create(acks, recorder, handled,
            id => id == "job-1" && Interlocked.Decrement(ref failures) >= 0 ? new IOException("ack failed (injected)") : null,
            visibility: TimeSpan.FromSeconds(1));
        using var releaseHolds = acks; // disposed before rt
        await rt.StartAsync();
        await PublishAsync(rt, 1);

        var pool = rt.Runtime.Supervisor.GetPool("work");
        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0].Restarts >= 1, "the worker faulted and restarted");
        Assert.Contains("ack failed", pool.GetSnapshot().Workers[0].LastError, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => recorder.Succeeded.Count == 1, "the task came back after its lease and was acked");
        Assert.Equal([1, 1], handled);
    }

    /// <summary>
    /// One worker that handled tasks 1 and 2 and holds both acks. The lease is far longer than the test, so a fault can only come
    /// from a failed ack itself, never from a task coming back.
    /// </summary>
    private static async Task<TestRuntime> StartWithTwoAcksHeldAsync(Acks acks, Recorder<Job> recorder, ConcurrentQueue<int> handled)
    {
        var rt = Create(acks, recorder, handled, visibility: TimeSpan.FromMinutes(5));
        await rt.StartAsync();
        await PublishAsync(rt, 1, 2);
        await Eventually.TrueAsync(() => acks.Entered == 2, "both acks in flight");
        return rt;
    }

    [Fact]
    public async Task An_ack_that_fails_while_the_worker_waits_for_work_faults_the_worker_at_once()
    {
        var acks = new Acks();
        var recorder = new Recorder<Job>();
        var handled = new ConcurrentQueue<int>();
        await using var rt = await StartWithTwoAcksHeldAsync(acks, recorder, handled);
        using var releaseHolds = acks; // disposed before rt
        var pool = rt.Runtime.Supervisor.GetPool("work");
        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0].State == WorkerState.Idle, "the worker waits for its next task");

        acks.Release("job-2");
        acks.Fail("job-1", new IOException("ack lost with the connection (injected)"));

        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0].Restarts >= 1, "the idle worker faulted and restarted");
        Assert.Contains("ack lost", pool.GetSnapshot().Workers[0].LastError, StringComparison.Ordinal);
        Assert.Equal([1, 2], handled);                   // nothing came back: the lease of task 1 is still running
        Assert.Equal(["job-2"], recorder.Succeeded.Select(e => e.Id));
        Assert.Equal(1, (await rt.Queue<Job>("work").GetStatsAsync()).Acked);
    }

    [Fact]
    public async Task A_failed_ack_behind_one_still_in_flight_faults_the_worker_before_it_takes_more_work()
    {
        var acks = new Acks();
        var recorder = new Recorder<Job>();
        var handled = new ConcurrentQueue<int>();
        await using var rt = await StartWithTwoAcksHeldAsync(acks, recorder, handled);
        using var releaseHolds = acks; // disposed before rt

        var queue = rt.Queue<Job>("work");
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Consumers == 1, "the worker waits for its next task");

        acks.Fail("job-2", new IOException("ack refused (injected)"));   // the newer one fails, the older is still held
        // The failure ends the worker's wait for work (the queue counts no waiting consumer) before any more work arrives.
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Consumers == 0, "the worker stopped waiting for work");
        await PublishAsync(rt, 3);
        var pool = rt.Runtime.Supervisor.GetPool("work");
        // A bounded wait for something that must not happen: the worker stopped taking work and waits for the held ack.
        await Assert.ThrowsAsync<TimeoutException>(() => Eventually.TrueAsync(() => handled.Contains(3), "task 3 handled", TimeSpan.FromMilliseconds(300)));
        Assert.Equal([1, 2], handled);

        acks.Release("job-1");
        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0].Restarts >= 1, "the worker faulted and restarted");
        await Eventually.TrueAsync(() => handled.Contains(3), "the restarted worker goes on");
        Assert.Contains(recorder.Succeeded, e => e.Id == "job-1");
    }
}
