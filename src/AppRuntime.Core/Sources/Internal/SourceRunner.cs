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
            var state = IsPaused ? "paused" : _state;
            return new SourceSnapshot(Name, Queue, state, IsPaused, Interlocked.Read(ref _published), _lastSuccessAt, _lastError, _lastErrorAt, _details)
            {
                Schedule = _schedule,
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
        _services.Settlements.For(Queue).Add(this);
        _run = Task.Run(() => RunAsync(source));
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_run is not null)
            await _run.ConfigureAwait(false);
        _services.Settlements.For(Queue).Remove(this);
    }

    public void Dispose() => _stop.Dispose();

    private async Task RunAsync(ITaskSource<T> source)
    {
        var faults = 0;
        SetState("running");
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await source.RunAsync(this, _stop.Token).ConfigureAwait(false);
                if (!_stop.IsCancellationRequested)
                {
                    SetState("completed");
                    ReportCaughtUp(); // a source that ended has looked at all its input
                }
                break;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
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
                    await Task.Delay(delay, _services.Time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        SetState("stopped");
    }

    public async ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var id = options?.Id ?? TaskIds.Next();
        await PublishCoreAsync(id, task, options, cancellationToken).ConfigureAwait(false);
        return id;
    }

    public async ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default)
    {
        TaskPublishing.ThrowIfNotDeduplicated(options);
        return new PublishResult(options.Id!, await PublishCoreAsync(options.Id!, task, options, cancellationToken).ConfigureAwait(false));
    }

    private async ValueTask<bool> PublishCoreAsync(string id, T task, TaskPublishOptions? options, CancellationToken cancellationToken)
    {
        if (!_resumed.IsOpen)
            await _resumed.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Counted as unsettled before the publish: a fast worker may settle the task before PublishAsync returns.
        var added = _unsettled.TryAdd(id, 0);
        bool published;
        try
        {
            published = await TaskPublishing.PublishAsync(_queue, _services, Name, id, task, options, cancellationToken).ConfigureAwait(false);
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

    /// <summary>True once the source reported that it looked at all its input (or ended), and every task it published is settled.</summary>
    public bool IsDrained => _caughtUp && _unsettled.IsEmpty;

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
            var stats = await _queue.GetStatsAsync(cancellationToken).ConfigureAwait(false);
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
    }
}
