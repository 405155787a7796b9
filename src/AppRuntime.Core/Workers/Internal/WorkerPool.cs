using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// N concurrent workers consuming one queue (seed: Worker): start, pause, resume, scale, restart of faulted worker loops, and
/// renewal of the leases of long-running handlers. What happens to each delivery is the <see cref="TaskProcessor{T}"/>'s.
/// </summary>
internal sealed partial class WorkerPool<T> : IRuntimePool, IDisposable
{
    private readonly ITaskQueue<T> _queue;
    private readonly WorkerPoolDefinition _definition;
    private readonly Func<IServiceProvider, ITaskHandler<T>> _handlerFactory;
    private readonly List<Func<IServiceProvider, ITaskOutcomeObserver<T>>> _observerFactories;
    private readonly RuntimeServices _services;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly List<Worker> _workers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly AsyncGate _resumed = new(open: true);
    private readonly int _maxSettling;
    private TaskProcessor<T>? _processor;
    private Worker[] _active = [];
    private ITimer? _renewTimer;
    private CancellationTokenSource _pauseCts = new();
    private int _desired;
    private int _nextId;
    private bool _paused;
    private bool _started;

    public WorkerPool(ITaskQueue<T> queue, WorkerPoolDefinition definition, Func<IServiceProvider, ITaskHandler<T>> handlerFactory,
        List<Func<IServiceProvider, ITaskOutcomeObserver<T>>> observers, RuntimeServices services)
    {
        _queue = queue;
        _definition = definition;
        _handlerFactory = handlerFactory;
        _observerFactories = observers;
        _services = services;
        _logger = services.Loggers.CreateLogger("AppRuntime.WorkerPool");
        _desired = definition.Workers;
        _maxSettling = services.Options.Pools.TryGetValue(queue.Name, out var configured) && configured.MaxSettling is { } bound
            ? bound
            : PoolLimits.DefaultMaxSettling;
    }

    public string Queue => _queue.Name;

    public ITaskQueue TaskQueue => _queue;

    public void Start()
    {
        lock (_lock)
        {
            if (_started)
                return;
            _started = true;
            _processor = new TaskProcessor<T>(_queue, _handlerFactory, [.. _observerFactories.Select(f => f(_services.Services))],
                new SettlementPolicy(_definition, _services.Options.MaxReasonLength), _services);
            for (var i = 0; i < _desired; i++)
                AddWorkerLocked();
            // One timer per pool renews the leases of long-running handlers: a lease is renewed once less than two thirds of
            // the visibility timeout remain, checked every sixth, so the hot path sets no timer per task.
            var check = _queue.Definition.VisibilityTimeout / 6;
            _renewTimer = _services.Time.CreateTimer(static s => ((WorkerPool<T>)s!).OnRenewTick(), this, check, check);
        }
        Log.PoolStarted(_logger, Queue, _desired);
    }

    public WorkerPoolSnapshot GetSnapshot()
    {
        lock (_lock)
        {
            var workers = new List<WorkerSnapshot>(_workers.Count);
            foreach (var w in _workers)
                workers.Add(w.Snapshot());
            return new WorkerPoolSnapshot(Queue, _desired, _paused, workers);
        }
    }

    private void ThrowIfStopped()
    {
        if (_stop.IsCancellationRequested)
            throw new InvalidOperationException($"Worker pool '{Queue}' is stopped.");
    }

    public void Pause()
    {
        lock (_lock)
        {
            ThrowIfStopped();
            if (_paused)
                return;
            _paused = true;
            _resumed.Close();
            _pauseCts.Cancel();
        }
        Log.PoolPaused(_logger, Queue);
    }

    public void Resume()
    {
        lock (_lock)
        {
            ThrowIfStopped();
            if (!_paused)
                return;
            _pauseCts.Dispose();
            _pauseCts = new CancellationTokenSource();
            _paused = false;
            _resumed.Open();
        }
        Log.PoolResumed(_logger, Queue);
    }

    public async ValueTask ScaleAsync(int workers, CancellationToken cancellationToken = default)
    {
        if (workers < 1)
            throw new ArgumentOutOfRangeException(nameof(workers), workers, $"Worker pool '{Queue}': a pool needs at least 1 worker.");
        List<Worker> retired = [];
        lock (_lock)
        {
            ThrowIfStopped();
            _desired = workers;
            if (!_started)
                return;
            while (_workers.Count < workers)
                AddWorkerLocked();
            while (_workers.Count > workers)
            {
                var last = _workers[^1];
                _workers.RemoveAt(_workers.Count - 1);
                last.Retire.Cancel();
                retired.Add(last);
            }
            Volatile.Write(ref _active, [.. _workers]);
        }
        Log.PoolScaled(_logger, Queue, workers);
        foreach (var w in retired)
            await w.Loop!.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken abort)
    {
        Task[] loops;
        lock (_lock)
        {
            _stop.Cancel();
            loops = [.. _workers.Select(w => w.Loop!)];
        }
        using (abort.Register(static s => ((CancellationTokenSource)s!).Cancel(), _abort))
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        Dispose();
    }

    public void Dispose()
    {
        _renewTimer?.Dispose();
        lock (_lock)
        {
            foreach (var w in _workers)
                w.Dispose();
            _workers.Clear();
            // _stop stays undisposed: it is the "stopped" flag that Pause/Resume/Scale check after the pool ends.
            _abort.Dispose();
            _pauseCts.Dispose();
        }
    }

    private void OnRenewTick()
    {
        // A lease is renewed once less than two thirds of the visibility timeout remain, measured against the deadline the
        // queue recorded when it leased (or last renewed) the task, so time spent between the backend's clock read and the
        // worker picking the task up counts against the lease, not after it.
        var renewBelow = _queue.Definition.VisibilityTimeout * 2 / 3;
        var now = _services.Time.GetUtcNow();
        foreach (var w in Volatile.Read(ref _active))
        {
            if (w.TryStartRenewal(now, renewBelow) is { } lease)
                _ = RenewAsync(w, lease);
        }
    }

    private void AddWorkerLocked()
    {
        var worker = new Worker(++_nextId);
        _workers.Add(worker);
        Volatile.Write(ref _active, [.. _workers]);
        worker.Loop = Task.Run(() => RunWorkerAsync(worker));
    }

    private async Task RunWorkerAsync(Worker w)
    {
        var faults = 0;
        while (!_stop.IsCancellationRequested && !w.Retire.IsCancellationRequested)
        {
            try
            {
                CancellationToken pauseToken;
                lock (_lock)
                    pauseToken = _pauseCts.Token;
                if (pauseToken.IsCancellationRequested)
                {
                    w.State = WorkerState.Paused;
                    using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, w.Retire.Token);
                    await _resumed.WaitAsync(waitCts.Token).ConfigureAwait(false);
                    continue;
                }

                // A settlement that fails while the worker waits for work ends the wait (its token), so the failure faults the
                // loop at once, not when the next task arrives.
                using var segment = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, w.Retire.Token, pauseToken, w.NewSettlementWatch());
                try
                {
                    while (true)
                    {
                        w.State = WorkerState.Idle;
                        if (segment.IsCancellationRequested)
                            break; // stopping, pausing, retiring, or a settlement failed: SettleAllAsync below throws that failure
                        TaskLease<T> lease;
                        try
                        {
                            lease = await _queue.ConsumeAsync(segment.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (segment.IsCancellationRequested)
                        {
                            break;
                        }
                        faults = 0;
                        await ProcessAsync(w, lease).ConfigureAwait(false);
                    }
                }
                finally
                {
                    // Paused, stopping, retired or faulted: the settlements still in flight end first (a failed one faults the loop).
                    await SettleAllAsync(w, _logger, Queue).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested || w.Retire.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // A faulted worker loop is restarted with backoff; it must never end the pool.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                faults++;
                var delay = Backoff.Exponential(_definition.RestartDelay, _definition.MaxRestartDelay, faults);
                Log.WorkerFaulted(_logger, ex, Queue, w.Id, delay);
                try
                {
                    using var waitCts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, w.Retire.Token);
                    var backoff = Task.Delay(delay, _services.Time, waitCts.Token);
                    // Faulted is published once the backoff timer exists, so whoever sees it (an operator, or a test
                    // driving a fake clock) knows the restart is already scheduled.
                    w.Fault(ex);
                    await backoff.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                w.Restarted();
            }
        }
        w.State = WorkerState.Stopped;
    }

    /// <summary>
    /// Runs the handler, then starts the settlement. A settlement that completes at once is recorded at once; one that waits
    /// (a Redis round trip, or an outcome observer's own I/O such as the IMAP source's <c>\Seen</c> STORE) goes on while the
    /// worker takes its next task: the worker goes on while up to <see cref="PoolOptions.MaxSettling"/> are in flight, and one more
    /// makes it wait for the oldest. The outcome observers still run only after the queue recorded the outcome (so the observer
    /// calls of one worker may now overlap), and a stopping, pausing or faulting worker first waits for all of its settlements.
    /// </summary>
    private async ValueTask ProcessAsync(Worker w, TaskLease<T> lease)
    {
        var abort = _abort.Token;
        w.Begin(lease);
        TaskProcessor<T>.HandledTask handled;
        try
        {
            handled = await _processor!.HandleAsync(lease, w.EndRenewalCallback, abort).ConfigureAwait(false);
        }
        finally
        {
            w.End();
        }

        var settling = _processor.SettleAsync(lease, handled, abort);
        if (settling.IsCompleted)
        {
            w.Record(await settling.ConfigureAwait(false)); // a failure faults the loop here, as it always did
            return;
        }
        w.Settling.Enqueue(RecordWhenSettledAsync(w, settling));
        if (w.Settling.Count > _maxSettling)
            await w.Settling.Dequeue().ConfigureAwait(false);
    }

    private static async Task RecordWhenSettledAsync(Worker w, ValueTask<(TaskOutcome Outcome, Exception? Failure)> settling)
    {
        try
        {
            w.Record(await settling.ConfigureAwait(false));
        }
        catch
        {
            w.OnSettlementFailed(); // wakes the worker if it waits for work; the exception is thrown where the task is awaited
            throw;
        }
    }

    /// <summary>
    /// Waits for every settlement the worker still has in flight; the first failure is thrown once all ended (it faults the
    /// loop), later ones are logged.
    /// </summary>
    private static async ValueTask SettleAllAsync(Worker w, ILogger logger, string queue)
    {
        Exception? first = null;
        while (w.Settling.TryDequeue(out var settling))
        {
            try
            {
                await settling.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The first failure is rethrown below; the others are logged.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (first is null)
                    first = ex;
                else
                    Log.SettlementFailed(logger, ex, queue, w.Id);
            }
        }
        if (first is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
    }

    private async Task RenewAsync(Worker w, TaskLease<T> lease)
    {
        try
        {
            // A successful renewal moves lease.LeasedUntil (the queue contract), which is what the next check reads.
            if (!await _queue.RenewLeaseAsync(lease, _abort.Token).ConfigureAwait(false) && w.StopRenewing(lease))
            {
                // Refused while the worker still holds the task: the backend gave the lease away. (Refused after the task
                // was acked or released is the expected end of a renewal that raced the outcome: nothing to report.)
                Log.LeaseLost(_logger, Queue, lease.Envelope.Id);
            }
        }
#pragma warning disable CA1031 // Renewal is retried at the next tick; a failure is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RenewFailed(_logger, ex, Queue, lease.Envelope.Id);
        }
        finally
        {
            w.RenewalDone();
        }
    }

    /// <summary>
    /// One worker's state: mutated by its own loop, except the counters and the last error, which its settlements in flight
    /// update (atomically) when they end; read by snapshots.
    /// </summary>
    private sealed class Worker : IDisposable
    {
        private CancellationTokenSource? _settlementWatch;

        /// <summary>The worker's settlements still in flight, oldest first (the queue itself is touched by its loop only).</summary>
        public Queue<Task> Settling { get; } = new();

        /// <summary>A token, for the loop segment starting now, that is cancelled when one of the worker's settlements fails.</summary>
        public CancellationToken NewSettlementWatch()
        {
            _settlementWatch?.Dispose();
            _settlementWatch = new CancellationTokenSource();
            return _settlementWatch.Token;
        }

        public void OnSettlementFailed()
        {
            try
            {
                _settlementWatch?.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The segment already ended: SettleAllAsync collects the failure.
            }
        }

        /// <summary>Counts a settled task: succeeded, or failed with what its handler threw.</summary>
        public void Record((TaskOutcome Outcome, Exception? Failure) result)
        {
            if (result.Failure is not null)
                HandlerFailed(result.Failure);
            else if (result.Outcome == TaskOutcome.Succeeded)
                Succeeded();
        }

        private TaskLease<T>? _lease;
        private int _renewing;
        private long _processed;
        private long _failed;
        private int _restarts;
        private volatile string? _lastError;
        private volatile string? _currentTaskId;
        private volatile WorkerState _state = WorkerState.Idle;

        public Worker(int id)
        {
            Id = id;
            EndRenewalCallback = EndRenewal; // one delegate per worker, not one per task
        }

        /// <summary><see cref="EndRenewal"/> as a callback for the processor.</summary>
        public Action EndRenewalCallback { get; }

        public int Id { get; }
        public CancellationTokenSource Retire { get; } = new();
        public Task? Loop { get; set; }

        public WorkerState State
        {
            get => _state;
            set => _state = value;
        }

        public void Begin(TaskLease<T> lease)
        {
            Volatile.Write(ref _lease, lease);
            _currentTaskId = lease.Envelope.Id;
            _state = WorkerState.Busy;
        }

        public void EndRenewal() => Volatile.Write(ref _lease, null);

        /// <summary>
        /// Stops renewing <paramref name="lease"/> (the backend no longer holds it); false when the worker had already
        /// finished with it.
        /// </summary>
        public bool StopRenewing(TaskLease<T> lease) => ReferenceEquals(Interlocked.CompareExchange(ref _lease, null, lease), lease);

        /// <summary>
        /// The lease to renew when less than <paramref name="renewBelow"/> of it remains and no renewal of it is in flight,
        /// else null. A caller that gets a lease must call <see cref="RenewalDone"/> when its renewal ends.
        /// </summary>
        public TaskLease<T>? TryStartRenewal(DateTimeOffset now, TimeSpan renewBelow)
        {
            var lease = Volatile.Read(ref _lease);
            if (lease is null || lease.LeasedUntil - now > renewBelow)
                return null;
            return Interlocked.CompareExchange(ref _renewing, 1, 0) == 0 ? lease : null;
        }

        public void RenewalDone() => Volatile.Write(ref _renewing, 0);

        public void End()
        {
            EndRenewal();
            _currentTaskId = null;
        }

        public void Succeeded() => Interlocked.Increment(ref _processed);

        public void HandlerFailed(Exception ex)
        {
            Interlocked.Increment(ref _failed);
            _lastError = $"{ex.GetType().Name}: {ex.Message}";
        }

        public void Fault(Exception ex)
        {
            _state = WorkerState.Faulted;
            _lastError = $"{ex.GetType().Name}: {ex.Message}";
        }

        /// <summary>Leaves <see cref="WorkerState.Faulted"/> before the restart is counted, so a snapshot never shows the new count with the old fault.</summary>
        public void Restarted()
        {
            _state = WorkerState.Idle;
            Interlocked.Increment(ref _restarts);
        }

        public WorkerSnapshot Snapshot() =>
            new(Id, _state, _currentTaskId, Interlocked.Read(ref _processed), Interlocked.Read(ref _failed), Volatile.Read(ref _restarts), _lastError);

        public void Dispose()
        {
            Retire.Dispose();
            _settlementWatch?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Worker pool '{Queue}' started with {Workers} workers")]
        public static partial void PoolStarted(ILogger logger, string queue, int workers);

        [LoggerMessage(2, LogLevel.Information, "Worker pool '{Queue}' paused")]
        public static partial void PoolPaused(ILogger logger, string queue);

        [LoggerMessage(3, LogLevel.Information, "Worker pool '{Queue}' resumed")]
        public static partial void PoolResumed(ILogger logger, string queue);

        [LoggerMessage(4, LogLevel.Information, "Worker pool '{Queue}' scaled to {Workers} workers")]
        public static partial void PoolScaled(ILogger logger, string queue, int workers);

        [LoggerMessage(5, LogLevel.Error, "Worker {Worker} of pool '{Queue}' faulted; restarting in {Delay}")]
        public static partial void WorkerFaulted(ILogger logger, Exception exception, string queue, int worker, TimeSpan delay);

        [LoggerMessage(9, LogLevel.Warning, "Lease of task {TaskId} on queue '{Queue}' was lost (it expired and the task may run again)")]
        public static partial void LeaseLost(ILogger logger, string queue, string taskId);

        [LoggerMessage(10, LogLevel.Warning, "Renewing the lease of task {TaskId} on queue '{Queue}' failed")]
        public static partial void RenewFailed(ILogger logger, Exception exception, string queue, string taskId);

        [LoggerMessage(12, LogLevel.Error, "A settlement of worker {Worker} of pool '{Queue}' failed (its task comes back when its lease runs out)")]
        public static partial void SettlementFailed(ILogger logger, Exception exception, string queue, int worker);
    }
}
