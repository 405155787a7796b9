using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Runs one source: gives it its context, restarts it with backoff when it faults, pauses it on request, and knows whether it
/// has drained (looked at all its input once, and everything it published is settled).
/// </summary>
internal sealed partial class SourceRunner<T> : IRuntimeSource, ITaskSourceContext<T>, ISettlementListener, IDisposable
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _unsettled = new(StringComparer.Ordinal);
    private volatile bool _caughtUp;
    private readonly ITaskQueue<T> _queue;
    private readonly SourceRegistration<T> _registration;
    private readonly RuntimeServices _services;
    private readonly ILogger _logger;
    private readonly AsyncGate _resumed = new(open: true);
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private readonly long _watermark;
    private Task? _run;
    private long _published;
    private string _state = "created";
    private DateTimeOffset? _lastSuccessAt;
    private string? _lastError;
    private DateTimeOffset? _lastErrorAt;
    private IReadOnlyDictionary<string, string> _details = TaskHeaders.Empty;
    private SourceSchedule? _schedule;
    private Task? _prune;
    // Leadership of an exclusive source: the store (the queue's backend; null: local, always granted), the resource, the lease
    // duration, the lease held right now (the fence every publish carries) and what the snapshot shows.
    private ISourceLeaseStore? _leaseStore;
    private string _resource = "";
    private TimeSpan _leaseDuration;
    private volatile SourceLease? _fence;
    private volatile CancellationTokenSource? _leading;
    private SourceLeadership? _leadership;
    private volatile bool _standby;

    /// <summary>How often the tasks this source published are checked against the queue's backend (settled by another instance?).</summary>
    internal static readonly TimeSpan PruneInterval = TimeSpan.FromSeconds(5);

    public SourceRunner(ITaskQueue<T> queue, SourceRegistration<T> registration, RuntimeServices services)
    {
        _queue = queue;
        _registration = registration;
        _services = services;
        _logger = services.Loggers.CreateLogger("AppRuntime.Source");
        var def = queue.Definition;
        _watermark = Math.Max(1, (long)Math.Floor(def.Capacity * def.HighWatermark));
    }

    public string Name => _registration.Definition.Name;

    public string Queue => _queue.Name;

    public string SourceName => Name;

    public string QueueName => _queue.Name;

    public TimeProvider TimeProvider => _services.Time;

    public bool IsPaused => !_resumed.IsOpen;

    public SourceSnapshot GetSnapshot()
    {
        lock (_lock)
        {
            var state = IsPaused ? "paused" : _standby ? "standby" : _state;
            return new SourceSnapshot(Name, Queue, state, IsPaused, Interlocked.Read(ref _published), _lastSuccessAt, _lastError, _lastErrorAt, _details)
            {
                Schedule = _schedule,
                Leadership = _leadership,
            };
        }
    }

    public void Pause()
    {
        _resumed.Close();
        Log.SourcePaused(_logger, Name);
    }

    public void Resume()
    {
        _resumed.Open();
        Log.SourceResumed(_logger, Name);
    }

    public void Start()
    {
        var source = _registration.Factory(_services.Services);
        var configured = _services.Options.Sources.TryGetValue(Name, out var options) ? options : null;
        var isExclusive = configured?.Exclusive ?? _registration.Definition.Exclusive ?? source is IExclusiveTaskSource;
        _leaseDuration = configured?.LeaseDuration ?? _registration.Definition.LeaseDuration;
        _resource = source is IExclusiveTaskSource exclusive && !string.IsNullOrEmpty(exclusive.ExclusiveResource)
            ? exclusive.ExclusiveResource
            : "source:" + Name;
        _leaseStore = isExclusive ? _queue as ISourceLeaseStore : null;
        if (!isExclusive || _leaseStore is null)
            _leadership = new SourceLeadership("local", null, null, _services.Instance.Id, _services.Time.GetUtcNow());
        _services.Settlements.For(Queue).Add(this);
        _run = Task.Run(() => RunAsync(source));
        if (_queue is IPendingTaskLookup lookup)
            _prune = Task.Run(() => PruneSettledElsewhereAsync(lookup));
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_run is not null)
            await _run.ConfigureAwait(false);
        if (_prune is not null)
            await _prune.ConfigureAwait(false);
        _services.Settlements.For(Queue).Remove(this);
    }

    /// <summary>True while this instance leads the source through a lease in the queue's backend.</summary>
    public bool LeadsShared => _fence is not null;

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync(ITaskSource<T> source)
    {
        SetState("running");
        if (_leaseStore is null)
        {
            await RunSourceAsync(source, _stop.Token).ConfigureAwait(false);
            SetState("stopped");
            return;
        }

        while (!_stop.IsCancellationRequested)
        {
            var lease = await AcquireLeadershipAsync().ConfigureAwait(false);
            if (lease is null)
                break;
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            _fence = lease;
            _leading = leading;
            _standby = false;
            SetLeadership("leader", lease.Token, lease.Holder);
            Log.Leading(_logger, Name, _resource, lease.Token);
            var renewal = KeepLeadershipAsync(lease, leading);
            var completed = await RunSourceAsync(source, leading.Token).ConfigureAwait(false);
            var lost = !_stop.IsCancellationRequested && !completed;
            await leading.CancelAsync().ConfigureAwait(false);
            var renewed = await renewal.ConfigureAwait(false);
            _leading = null;
            _fence = null;
            if (!lost)
            {
                // Stopping (or the source ended): give the lease up at once, so another instance takes over without waiting for it to run out.
                await ReleaseLeadershipAsync(renewed).ConfigureAwait(false);
                break;
            }
            _standby = true;
            SetLeadership("standby", null, null);
            Log.LeadershipLost(_logger, Name, _resource, lease.Token);
        }
        SetState("stopped");
    }

    /// <summary>Runs the source, restarting it with backoff when it faults. True when it ended by itself (completed).</summary>
    private async Task<bool> RunSourceAsync(ITaskSource<T> source, CancellationToken cancellationToken)
    {
        var faults = 0;
        SetState("running");
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await source.RunAsync(this, cancellationToken).ConfigureAwait(false);
                if (!cancellationToken.IsCancellationRequested)
                {
                    SetState("completed");
                    ReportCaughtUp(); // a source that ended has looked at all its input
                    return true;
                }
                break;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (SourceLeaseLostException)
            {
                // A fenced publish was refused: another instance leads now. Leadership is given up below.
                break;
            }
#pragma warning disable CA1031 // A faulted source is restarted with backoff.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                faults++;
                var delay = Backoff.Exponential(_registration.Definition.RestartDelay, _registration.Definition.MaxRestartDelay, faults);
                ReportError("faulted", ex);
                Log.SourceFaulted(_logger, ex, Name, delay);
                try
                {
                    await Task.Delay(delay, _services.Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        return false;
    }

    /// <summary>How often a standing-by instance asks for the lease: a fourth of the lease, at most 1 s.</summary>
    private TimeSpan StandbyCheck => _leaseDuration / 4 < TimeSpan.FromSeconds(1) ? _leaseDuration / 4 : TimeSpan.FromSeconds(1);

    /// <summary>Waits (standing by) until this instance holds the source's lease; null when the runner stops first.</summary>
    private async Task<SourceLease?> AcquireLeadershipAsync()
    {
        var failing = false;
        string? lastHolder = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var lease = await _leaseStore!.TryAcquireSourceLeaseAsync(_resource, _services.Instance.Id, _leaseDuration, _stop.Token).ConfigureAwait(false);
                if (lease is not null)
                    return lease;
                failing = false;
                var holder = (await _leaseStore.GetSourceLeaseAsync(_resource, _stop.Token).ConfigureAwait(false))?.Holder;
                if (!_standby || !string.Equals(holder, lastHolder, StringComparison.Ordinal))
                {
                    _standby = true;
                    SetLeadership("standby", null, holder);
                    Log.StandingBy(_logger, Name, _resource, holder ?? "(none)");
                    lastHolder = holder;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return null;
            }
#pragma warning disable CA1031 // The backend is down: stand by and ask again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _standby = true;
                if (!failing)
                {
                    SetLeadership("standby", null, null);
                    Log.LeaseCheckFailed(_logger, Name, _resource, ex.Message);
                    failing = true;
                }
            }
            try
            {
                await Task.Delay(StandbyCheck, _services.Time, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>
    /// Renews the lease every third of its duration while the source runs; cancels <paramref name="leading"/> once it is lost (another
    /// holder has it, or it ran out while the backend did not answer). Returns the lease as last renewed.
    /// </summary>
    private async Task<SourceLease> KeepLeadershipAsync(SourceLease lease, CancellationTokenSource leading)
    {
        var current = lease;
        var every = _leaseDuration / 3;
        // After a failed renewal (the backend is down) the next try comes soon: the lease survives an outage shorter than it.
        var retry = _leaseDuration / 20 < TimeSpan.FromMilliseconds(250) ? _leaseDuration / 20 : TimeSpan.FromMilliseconds(250);
        var wait = every;
        var failing = false;
        while (!leading.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, _services.Time, leading.Token).ConfigureAwait(false);
                var renewed = await _leaseStore!.RenewSourceLeaseAsync(current, _leaseDuration, leading.Token).ConfigureAwait(false);
                if (renewed is null)
                {
                    await leading.CancelAsync().ConfigureAwait(false);
                    break;
                }
                current = renewed;
                _fence = renewed;
                wait = every;
                failing = false;
            }
            catch (OperationCanceledException) when (leading.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The backend did not answer: try again until the lease would have run out.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!failing)
                    Log.LeaseRenewFailed(_logger, Name, _resource, ex.Message);
                failing = true;
                wait = retry;
                if (_services.Time.GetUtcNow() >= current.ExpiresAt)
                {
                    await leading.CancelAsync().ConfigureAwait(false);
                    break;
                }
            }
        }
        return current;
    }

    private async Task ReleaseLeadershipAsync(SourceLease lease)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _leaseStore!.ReleaseSourceLeaseAsync(lease, timeout.Token).ConfigureAwait(false);
            Log.LeadershipReleased(_logger, Name, _resource, lease.Token);
        }
#pragma warning disable CA1031 // Not released: it runs out by itself.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.LeaseReleaseFailed(_logger, Name, _resource, ex.Message);
        }
        SetLeadership("released", null, null);
    }

    private void SetLeadership(string role, long? token, string? holder)
    {
        lock (_lock)
            _leadership = new SourceLeadership(role, _resource, token, holder, _services.Time.GetUtcNow());
    }

    /// <summary>
    /// Forgets tasks this source published that are no longer pending in the queue's backend: settled by another instance (whose
    /// settlement this process never hears of), or dead-lettered there. Checked every <see cref="PruneInterval"/>.
    /// </summary>
    private async Task PruneSettledElsewhereAsync(IPendingTaskLookup lookup)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PruneInterval, _services.Time, _stop.Token).ConfigureAwait(false);
                if (_unsettled.IsEmpty)
                    continue;
                var removed = 0;
                foreach (var chunk in _unsettled.Keys.Take(10_000).Chunk(LookupBatch))
                {
                    var pending = await lookup.ArePendingAsync(chunk, _stop.Token).ConfigureAwait(false);
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        if (!pending[i] && _unsettled.TryRemove(chunk[i], out _))
                            removed++;
                    }
                }
                if (removed > 0)
                    _services.Settlements.Pulse();
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The backend did not answer: look again next time.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    public async ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var id = options?.Id ?? TaskIds.Next();
        await PublishCoreAsync(id, task, options, waitForBackend: true, cancellationToken).ConfigureAwait(false);
        return id;
    }

    public async ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default)
    {
        TaskPublishing.ThrowIfNotDeduplicated(options);
        // A deduplicated publish answers a caller (a webhook request): an unreachable backend is reported to it, not waited out.
        return new PublishResult(options.Id!, await PublishCoreAsync(options.Id!, task, options, waitForBackend: false, cancellationToken).ConfigureAwait(false));
    }

    private async ValueTask<bool> PublishCoreAsync(string id, T task, TaskPublishOptions? options, bool waitForBackend, CancellationToken cancellationToken)
    {
        if (!_resumed.IsOpen)
            await _resumed.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Counted as unsettled before the publish: a fast worker may settle the task before PublishAsync returns.
        var added = _unsettled.TryAdd(id, 0);
        bool published;
        try
        {
            SourceLease? fence = null;
            if (_leaseStore is not null && (fence = _fence) is null)
                throw new SourceLeaseLostException($"Source '{Name}' does not lead '{_resource}' (another instance does); nothing was published.");
            published = waitForBackend
                ? await PublishWaitingForBackendAsync(id, task, options, fence, cancellationToken).ConfigureAwait(false)
                : await TaskPublishing.PublishAsync(_queue, _services, Name, id, task, options, cancellationToken, fence).ConfigureAwait(false);
        }
        catch (SourceLeaseLostException)
        {
            if (added)
                _unsettled.TryRemove(id, out _);
            // Stop the source's run at once: whatever it does with the exception, it must not go on as if it led.
            _leading?.Cancel();
            throw;
        }
        catch
        {
            if (added)
                _unsettled.TryRemove(id, out _);
            throw;
        }
        if (!published)
        {
            // A duplicate: nothing of this publish waits to be settled (the first publish's task is tracked by whoever published it).
            if (added)
                _unsettled.TryRemove(id, out _);
            return false;
        }
        Interlocked.Increment(ref _published);
        return true;
    }

    /// <summary>
    /// Publishes (<see cref="PublishAsync"/>); while the queue's backend is unreachable (<see cref="QueueBackendUnavailableException"/>: a Redis outage) it waits
    /// and tries again, with backoff up to 2 s, instead of failing the source: an outage of the queue must not tear down what the
    /// source holds (an IMAP session). The source shows the outage as its last error meanwhile; the backend logs it once.
    /// </summary>
    private async ValueTask<bool> PublishWaitingForBackendAsync(string id, T task, TaskPublishOptions? options, SourceLease? fence, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await TaskPublishing.PublishAsync(_queue, _services, Name, id, task, options, cancellationToken, fence).ConfigureAwait(false);
            }
            catch (QueueBackendUnavailableException ex) when (!cancellationToken.IsCancellationRequested)
            {
                ReportError("waiting-for-queue", ex);
                await Task.Delay(backoff, _services.Time, cancellationToken).ConfigureAwait(false);
                backoff = backoff * 2 > MaxBackendWait ? MaxBackendWait : backoff * 2;
                // An exclusive source that lost its lease meanwhile must not publish: the next try carries the current fence (or none).
                if (_leaseStore is not null && (fence = _fence) is null)
                    throw new SourceLeaseLostException($"Source '{Name}' lost its lease on '{_resource}' while the queue's backend was unreachable; nothing was published.");
            }
        }
    }

    private static readonly TimeSpan MaxBackendWait = TimeSpan.FromSeconds(2);

    /// <summary>True once the source reported that it looked at all its input (or ended), and every task it published is settled.</summary>
    /// A source standing by (another instance leads it) has nothing of its own to look at.
    public bool IsDrained => (_caughtUp || _standby) && _unsettled.IsEmpty;

    /// <summary>Tasks this source published that have not settled yet (in this process's view).</summary>
    public int Unsettled => _unsettled.Count;

    public void ReportCaughtUp()
    {
        if (_caughtUp)
            return;
        _caughtUp = true;
        _services.Settlements.Pulse();
    }

    void ISettlementListener.OnSettled(string taskId) => _unsettled.TryRemove(taskId, out _);

    /// <summary>The queue's answer when it can look tasks up (across instances); else this process's view of what the source published.</summary>
    public ValueTask<bool> IsUnsettledAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        return _queue is IPendingTaskLookup lookup
            ? lookup.IsPendingAsync(taskId, cancellationToken)
            : ValueTask.FromResult(_unsettled.ContainsKey(taskId));
    }

    /// <summary>The queue's answers in batches of 500 when it can look tasks up (across instances); else this process's view.</summary>
    public async ValueTask<bool[]> AreUnsettledAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var answers = new bool[taskIds.Count];
        if (_queue is not IPendingTaskLookup lookup)
        {
            for (var i = 0; i < answers.Length; i++)
                answers[i] = _unsettled.ContainsKey(taskIds[i]);
            return answers;
        }
        var offset = 0;
        foreach (var chunk in taskIds.Chunk(LookupBatch))
        {
            var pending = await lookup.ArePendingAsync(chunk, cancellationToken).ConfigureAwait(false);
            pending.CopyTo(answers, offset);
            offset += chunk.Length;
        }
        return answers;
    }

    /// <summary>The most task ids asked of the queue in one lookup.</summary>
    private const int LookupBatch = 500;

    /// <summary>The queue's backend keeps checkpoints when it can (<see cref="ISourceCheckpointStore"/>); else the process does.</summary>
    private ISourceCheckpointStore Checkpoints => _queue as ISourceCheckpointStore ?? _services.Checkpoints;

    public ValueTask<string?> GetCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Checkpoints.GetCheckpointAsync(Name, name, cancellationToken);
    }

    public ValueTask<bool> TrySetCheckpointAsync(string name, string? expected, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        return Checkpoints.TrySetCheckpointAsync(Name, name, expected, value, cancellationToken);
    }

    public void ReportSchedule(SourceSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        lock (_lock)
            _schedule = schedule;
    }

    public async ValueTask WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (!_resumed.IsOpen)
                await _resumed.WaitAsync(cancellationToken).ConfigureAwait(false);
            QueueStats stats;
            try
            {
                stats = await _queue.GetStatsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (QueueBackendUnavailableException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // The queue's backend is down (logged once by the backend): wait for it here rather than fail the source.
                ReportError("waiting-for-queue", ex);
                await Task.Delay(MaxBackendWait, _services.Time, cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (stats.Outstanding < _watermark)
                return;
            SetState("backpressure");
            await Task.Delay(_services.Options.BackpressureCheckInterval, _services.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    public void ReportHealthy(string state, IReadOnlyDictionary<string, string>? details = null)
    {
        lock (_lock)
        {
            _state = state;
            _lastSuccessAt = _services.Time.GetUtcNow();
            _lastError = null;
            if (details is not null)
                _details = Merge(_details, details);
        }
    }

    public void ReportDetails(IReadOnlyDictionary<string, string> details)
    {
        ArgumentNullException.ThrowIfNull(details);
        lock (_lock)
            _details = Merge(_details, details);
    }

    /// <summary>The details a source reported before, updated by the ones it reports now (a key it no longer reports keeps its last value).</summary>
    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> current, IReadOnlyDictionary<string, string> update)
    {
        var merged = new Dictionary<string, string>(current.Count + update.Count, StringComparer.Ordinal);
        foreach (var (key, value) in current)
            merged[key] = value;
        foreach (var (key, value) in update)
            merged[key] = value;
        return merged;
    }

    public void ReportError(string state, Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        lock (_lock)
        {
            _state = state;
            _lastError = $"{error.GetType().Name}: {error.Message}";
            _lastErrorAt = _services.Time.GetUtcNow();
        }
    }

    public void RecordEvent(string name) => _services.Trace.Tasks.SourceEvent(Name, name);

    private void SetState(string state)
    {
        lock (_lock)
            _state = state;
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Information, "Source '{Source}' paused")]
        public static partial void SourcePaused(ILogger logger, string source);

        [LoggerMessage(21, LogLevel.Information, "Source '{Source}' resumed")]
        public static partial void SourceResumed(ILogger logger, string source);

        [LoggerMessage(22, LogLevel.Error, "Source '{Source}' faulted; restarting in {Delay}")]
        public static partial void SourceFaulted(ILogger logger, Exception exception, string source, TimeSpan delay);

        [LoggerMessage(23, LogLevel.Information, "Source '{Source}' leads '{Resource}' (fencing token {Token})")]
        public static partial void Leading(ILogger logger, string source, string resource, long token);

        [LoggerMessage(24, LogLevel.Information, "Source '{Source}' stands by: instance {Holder} leads '{Resource}'")]
        public static partial void StandingBy(ILogger logger, string source, string resource, string holder);

        [LoggerMessage(25, LogLevel.Warning, "Source '{Source}' lost its lease on '{Resource}' (token {Token}): another instance leads now; this one stopped the source and stands by")]
        public static partial void LeadershipLost(ILogger logger, string source, string resource, long token);

        [LoggerMessage(26, LogLevel.Information, "Source '{Source}' released its lease on '{Resource}' (token {Token})")]
        public static partial void LeadershipReleased(ILogger logger, string source, string resource, long token);

        [LoggerMessage(27, LogLevel.Warning, "Source '{Source}' could not check its lease on '{Resource}' ({Reason}); standing by until the backend answers")]
        public static partial void LeaseCheckFailed(ILogger logger, string source, string resource, string reason);

        [LoggerMessage(28, LogLevel.Warning, "Source '{Source}' could not renew its lease on '{Resource}' ({Reason}); it stops leading when the lease runs out")]
        public static partial void LeaseRenewFailed(ILogger logger, string source, string resource, string reason);

        [LoggerMessage(29, LogLevel.Warning, "Source '{Source}' could not release its lease on '{Resource}' ({Reason}); it runs out by itself")]
        public static partial void LeaseReleaseFailed(ILogger logger, string source, string resource, string reason);
    }
}
