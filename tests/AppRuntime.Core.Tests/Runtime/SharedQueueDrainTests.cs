using System.Diagnostics;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Core.Tests.Runtime;

/// <summary>
/// On stop, a queue shared with other instances (<see cref="ISharedTaskQueue"/>) stops leasing and is drained of this instance's
/// own tasks only: its workers' and those it leased ahead. Its depth and in-flight count (other instances' work) do not count.
/// </summary>
public sealed class SharedQueueDrainTests
{
    [Fact]
    public async Task The_drain_waits_for_the_tasks_leased_ahead_and_not_for_the_shared_queues_depth_or_in_flight_tasks()
    {
        var backend = new SharedBackend(new InMemoryQueueBackend(TimeProvider.System));
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("shared", "Job") { Backend = "Shared" });
            b.AddWorkerPool(new WorkerPoolDefinition("shared") { Workers = 1 });
            b.AddHandler<Job>("shared", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        }, options: o => o.DrainTimeout = TimeSpan.FromSeconds(30), services: s => s.AddSingleton<ITaskQueueBackend>(backend));
        await rt.StartAsync();
        var queue = backend.Queue!;
        queue.SetBuffered(2);

        var stop = rt.StopAsync();

        // Two tasks leased ahead: the drain keeps looking at them.
        await Eventually.TrueAsync(() => queue.LeasingStopped && queue.BufferedReads >= 3, "the drain stopped leasing and watches the buffer");
        Assert.False(stop.IsCompleted);

        // Gone (handled or given back): the drain ends, although the shared queue reports 5 ready and 2 in flight throughout.
        queue.SetBuffered(0);
        var stopwatch = Stopwatch.StartNew();
        await stop.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal((5L, 2L), ((await queue.GetStatsAsync()).Depth, (await queue.GetStatsAsync()).InFlight));
        Assert.Equal(RuntimeState.Stopped, rt.Runtime.State);
    }

    private sealed class SharedBackend(ITaskQueueBackend inner) : ITaskQueueBackend
    {
        public SharedQueue<Job>? Queue { get; private set; }

        public string Name => "Shared";

        public bool IsDurable => false;

        public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer)
        {
            var queue = new SharedQueue<T>(inner.Create(definition, serializer));
            Queue = queue as SharedQueue<Job>;
            return queue;
        }
    }

    /// <summary>
    /// A shared queue as other instances keep it busy: 5 ready and 2 in flight, none of them for this instance (its consumers
    /// get nothing), and a buffer of tasks leased ahead whose size the test sets.
    /// </summary>
    private sealed class SharedQueue<T>(ITaskQueue<T> inner) : ITaskQueue<T>, ISharedTaskQueue
    {
        private int _buffered;
        private int _bufferedReads;
        private volatile bool _leasingStopped;

        public bool LeasingStopped => _leasingStopped;

        public int BufferedReads => Volatile.Read(ref _bufferedReads);

        public void SetBuffered(int n) => Volatile.Write(ref _buffered, n);

        public int Buffered
        {
            get
            {
                if (_leasingStopped)
                    Interlocked.Increment(ref _bufferedReads);
                return Volatile.Read(ref _buffered);
            }
        }

        public void StopLeasing() => _leasingStopped = true;

        public string Name => inner.Name;
        public string TaskType => inner.TaskType;
        public string Backend => "Shared";
        public QueueDefinition Definition => inner.Definition;

        public async ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new OperationCanceledException(cancellationToken);
        }

        public ValueTask<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new QueueStats { Depth = 5, InFlight = 2 });

        public ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default) => inner.PublishAsync(envelope, cancellationToken);
        public ValueTask<bool> PublishOnceAsync(TaskEnvelope<T> envelope, TimeSpan window, CancellationToken cancellationToken = default) => inner.PublishOnceAsync(envelope, window, cancellationToken);
        public ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default) => inner.AckAsync(lease, cancellationToken);
        public ValueTask<NackResult> NackAsync(TaskLease<T> lease, TimeSpan? retryDelay = null, string? error = null, CancellationToken cancellationToken = default) => inner.NackAsync(lease, retryDelay, error, cancellationToken);
        public ValueTask<bool> DeadLetterAsync(TaskLease<T> lease, string reason, CancellationToken cancellationToken = default) => inner.DeadLetterAsync(lease, reason, cancellationToken);
        public ValueTask<bool> ReleaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default) => inner.ReleaseAsync(lease, cancellationToken);
        public ValueTask<bool> RenewLeaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default) => inner.RenewLeaseAsync(lease, cancellationToken);
        public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default) => inner.GetDeadLettersAsync(max, cancellationToken);

        public ValueTask<DeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default) => inner.GetDeadLetterAsync(id, cancellationToken);
        public ValueTask<int> RetryDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) => inner.RetryDeadLettersAsync(ids, cancellationToken);
        public ValueTask<int> PurgeDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) => inner.PurgeDeadLettersAsync(ids, cancellationToken);
    }
}
