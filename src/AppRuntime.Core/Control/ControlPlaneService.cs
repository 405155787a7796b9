using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>A queue's identity and counters.</summary>
/// <param name="Name">Queue name.</param>
/// <param name="TaskType">Task type.</param>
/// <param name="Backend">Backend name.</param>
/// <param name="Stats">Counters.</param>
public sealed record QueueStatus(string Name, string TaskType, string Backend, QueueStats Stats);

/// <summary>Everything an operator sees at once.</summary>
/// <param name="State">The runtime state.</param>
/// <param name="StartedAt">When it reached Running.</param>
/// <param name="FaultReason">Why it faulted, if it did.</param>
/// <param name="Queues">Queues with counters.</param>
/// <param name="Pools">Worker pools with per-worker state.</param>
/// <param name="Sources">Sources.</param>
public sealed record RuntimeStatus(
    RuntimeState State,
    DateTimeOffset? StartedAt,
    string? FaultReason,
    IReadOnlyList<QueueStatus> Queues,
    IReadOnlyList<WorkerPoolSnapshot> Pools,
    IReadOnlyList<SourceSnapshot> Sources);

/// <summary>How a control-plane operation ended; the HTTP adapter maps each to one status code.</summary>
public enum ControlStatus
{
    /// <summary>Done (HTTP 200).</summary>
    Ok,

    /// <summary>Accepted and under way (HTTP 202).</summary>
    Accepted,

    /// <summary>The request is malformed: an out-of-range value (HTTP 400).</summary>
    Invalid,

    /// <summary>It names a queue, pool or source that does not exist (HTTP 404).</summary>
    NotFound,

    /// <summary>Not possible in the runtime's or the component's current state (HTTP 409).</summary>
    Conflict,

    /// <summary>Understood but refused: an invalid configuration reload (HTTP 422).</summary>
    Unprocessable,

    /// <summary>A backend the operation needs is unreachable; try again later (HTTP 503).</summary>
    Unavailable,
}

/// <summary>The result of a control-plane operation: a value, or a status with the reason.</summary>
/// <typeparam name="T">The value of a successful operation.</typeparam>
/// <param name="Status">How it ended.</param>
/// <param name="Value">The value, when it succeeded.</param>
/// <param name="Error">Why it did not, for a human.</param>
/// <param name="ConfigErrors">Configuration problems, for a refused reload.</param>
public sealed record ControlResult<T>(ControlStatus Status, T? Value = default, string? Error = null, IReadOnlyList<ConfigError>? ConfigErrors = null)
{
    /// <summary>True for <see cref="ControlStatus.Ok"/> and <see cref="ControlStatus.Accepted"/>.</summary>
    public bool Succeeded => Status is ControlStatus.Ok or ControlStatus.Accepted;

    /// <summary>For <see cref="ControlStatus.Unavailable"/>: the backend that could not be reached (for example <c>Redis</c>).</summary>
    public string? Backend { get; init; }
}

/// <summary>
/// Runtime state and administrative actions as a service (seed: ControlPlaneService). Every rule lives here: names are
/// checked, actions need a running runtime, values are range-checked. Each operation returns a <see cref="ControlResult{T}"/>
/// instead of throwing for an expected refusal, so any caller (the HTTP adapter, tests, a CLI) gets the same behaviour.
/// </summary>
public sealed class ControlPlaneService
{
    private readonly RuntimeManager _runtime;
    private readonly WorkerSupervisor _pools;
    private readonly SourceSupervisor _sources;
    private readonly QueueManager _queues;
    private readonly ConfigurationManager _config;
    private readonly RuntimeRegistry _registry;
    private readonly TraceService _trace;

    private readonly Func<TimeSpan> _backendTimeout;
    private readonly ClusterMembership? _cluster;

    internal ControlPlaneService(RuntimeManager runtime, WorkerSupervisor pools, SourceSupervisor sources, QueueManager queues, ConfigurationManager config,
        RuntimeRegistry registry, TraceService trace, HealthRegistry health, AuditTrail audit, Func<TimeSpan>? backendTimeout = null,
        ClusterMembership? cluster = null)
    {
        _cluster = cluster;
        Audit = audit;
        _backendTimeout = backendTimeout ?? (() => AppRuntimeOptions.DefaultBackendTimeout);
        _runtime = runtime;
        _pools = pools;
        _sources = sources;
        _queues = queues;
        _config = config;
        _registry = registry;
        _trace = trace;
        Health = health;
    }

    /// <summary>The largest number of dead letters one listing returns.</summary>
    public const int MaxDeadLetterListing = 1000;

    /// <summary>The most task ids one dead-letter action takes.</summary>
    public const int MaxIdsPerAction = 10_000;

    /// <summary>The health registry.</summary>
    public HealthRegistry Health { get; }

    /// <summary>
    /// The audit trail. Every action below records who asked (the <see cref="ControlCaller"/> passed, <see cref="ControlCaller.Internal"/>
    /// when none is), what, to what and how it ended, whatever adapter called.
    /// </summary>
    public AuditTrail Audit { get; }

    /// <summary>The runtime's state.</summary>
    public RuntimeState State => _runtime.State;

    /// <summary>The declared modules.</summary>
    public IReadOnlyList<ModuleTopology> Topology => [.. _registry.Modules];

    /// <summary>The declared topology as Mermaid text.</summary>
    public string TopologyMermaid => ModuleTopology.ToMermaid(_registry.Modules);

    /// <summary>
    /// A snapshot of the runtime, pools, workers, queues and sources. Throws <see cref="QueueBackendUnavailableException"/> when a
    /// queue's backend cannot be reached or does not answer within <see cref="AppRuntimeOptions.BackendTimeout"/>;
    /// <see cref="ReadStatusAsync"/> returns that as <see cref="ControlStatus.Unavailable"/> instead.
    /// </summary>
    public async Task<RuntimeStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var queues = new List<QueueStatus>();
        foreach (var q in _queues.All)
            queues.Add(new QueueStatus(q.Name, q.TaskType, q.Backend, await BackendAsync(q, ct => q.GetStatsAsync(ct), cancellationToken).ConfigureAwait(false)));
        return new RuntimeStatus(_runtime.State, _runtime.StartedAt, _runtime.FaultReason, queues, _pools.GetSnapshots(), _sources.GetSnapshots());
    }

    /// <summary>
    /// The snapshot of <see cref="GetStatusAsync"/>, or <see cref="ControlStatus.Unavailable"/> naming the queue and its backend when
    /// a backend cannot be reached or does not answer within <see cref="AppRuntimeOptions.BackendTimeout"/>.
    /// </summary>
    public async ValueTask<ControlResult<RuntimeStatus>> ReadStatusAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return new(ControlStatus.Ok, await GetStatusAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (QueueBackendUnavailableException ex)
        {
            return Unavailable<RuntimeStatus>(ex);
        }
    }

    /// <summary>The state of every source.</summary>
    public IReadOnlyList<SourceSnapshot> GetSources() => _sources.GetSnapshots();

    /// <summary>The state of every pool.</summary>
    public IReadOnlyList<WorkerPoolSnapshot> GetPools() => _pools.GetSnapshots();

    /// <summary>Pauses a source: it stops publishing until resumed. Audited as <paramref name="caller"/>.</summary>
    public ControlResult<SourceSnapshot> PauseSource(string name, ControlCaller? caller = null) =>
        Audited(caller, AuditActions.SourcePause, name, OnSource(name, s => s.Pause()));

    /// <summary>Resumes a paused source. Audited as <paramref name="caller"/>.</summary>
    public ControlResult<SourceSnapshot> ResumeSource(string name, ControlCaller? caller = null) =>
        Audited(caller, AuditActions.SourceResume, name, OnSource(name, s => s.Resume()));

    /// <summary>Pauses a worker pool: workers finish the task in hand and take no more. Audited as <paramref name="caller"/>.</summary>
    public ControlResult<WorkerPoolSnapshot> PausePool(string queue, ControlCaller? caller = null) =>
        Audited(caller, AuditActions.PoolPause, queue, OnPool(queue, p => p.Pause()));

    /// <summary>Resumes a paused worker pool. Audited as <paramref name="caller"/>.</summary>
    public ControlResult<WorkerPoolSnapshot> ResumePool(string queue, ControlCaller? caller = null) =>
        Audited(caller, AuditActions.PoolResume, queue, OnPool(queue, p => p.Resume()));

    /// <summary>Scales a pool to <paramref name="workers"/> workers (1 to <see cref="PoolLimits.MaxWorkers"/>). Audited as <paramref name="caller"/>.</summary>
    public async ValueTask<ControlResult<WorkerPoolSnapshot>> ScalePoolAsync(string queue, int workers, ControlCaller? caller = null, CancellationToken cancellationToken = default)
    {
        var result = await ScaleCoreAsync(queue, workers, cancellationToken).ConfigureAwait(false);
        return Audited(caller, AuditActions.PoolScale, queue, result, $"workers: {workers}");
    }

    private async ValueTask<ControlResult<WorkerPoolSnapshot>> ScaleCoreAsync(string queue, int workers, CancellationToken cancellationToken)
    {
        if (workers is < 1 or > PoolLimits.MaxWorkers)
            return Invalid<WorkerPoolSnapshot>($"'workers' must be a whole number from 1 to {PoolLimits.MaxWorkers} (was {workers}).");
        if (FindPool(queue, out var pool) is { } refused)
            return refused;
        try
        {
            await pool!.ScaleAsync(workers, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            return Conflict<WorkerPoolSnapshot>($"worker pool '{queue}'", ex);
        }
        return new(ControlStatus.Ok, pool.GetSnapshot());
    }

    /// <summary>
    /// Lists up to <paramref name="max"/> (1 to <see cref="MaxDeadLetterListing"/>) of a queue's dead letters, (those that can be read), each with a
    /// bounded preview of its payload (<see cref="DeadLetter.PreviewLength"/>); <see cref="GetDeadLetterAsync"/> reads one whole.
    /// </summary>
    public async ValueTask<ControlResult<IReadOnlyList<DeadLetter>>> GetDeadLettersAsync(string queue, int max = 100, CancellationToken cancellationToken = default)
    {
        var listing = await ListDeadLettersAsync(queue, max, cancellationToken).ConfigureAwait(false);
        return new(listing.Status, listing.Value?.Items, listing.Error) { Backend = listing.Backend };
    }

    /// <summary>
    /// Lists up to <paramref name="max"/> (1 to <see cref="MaxDeadLetterListing"/>) of a queue's dead letters, with the entries the
    /// backend could not read reported apart (<see cref="DeadLetterListing.Skipped"/>); <see cref="ControlStatus.Unavailable"/> when
    /// the backend cannot be reached in time.
    /// </summary>
    public async ValueTask<ControlResult<DeadLetterListing>> ListDeadLettersAsync(string queue, int max = 100, CancellationToken cancellationToken = default)
    {
        if (max is < 1 or > MaxDeadLetterListing)
            return Invalid<DeadLetterListing>($"'max' must be a whole number from 1 to {MaxDeadLetterListing} (was {max}).");
        if (!TryGetQueue(queue, out var q))
            return NotFound<DeadLetterListing>("queue", queue);
        try
        {
            return new(ControlStatus.Ok, await BackendAsync(q, ct => q.ListDeadLettersAsync(max, ct), cancellationToken).ConfigureAwait(false));
        }
        catch (QueueBackendUnavailableException ex)
        {
            return Unavailable<DeadLetterListing>(ex);
        }
    }

    /// <summary>
    /// One dead letter of <paramref name="queue"/> with its whole payload, or <see cref="ControlStatus.NotFound"/>. The payload can carry
    /// personal data, so the read is audited as <paramref name="caller"/>.
    /// </summary>
    public async ValueTask<ControlResult<DeadLetter>> GetDeadLetterAsync(string queue, string id, ControlCaller? caller = null, CancellationToken cancellationToken = default)
    {
        ControlResult<DeadLetter> result;
        if (string.IsNullOrEmpty(id) || id.Length > 512)
            result = Invalid<DeadLetter>("The task id must be 1 to 512 characters.");
        else if (!TryGetQueue(queue, out var q))
            result = NotFound<DeadLetter>("queue", queue);
        else
        {
            try
            {
                var dead = await BackendAsync(q, ct => q.GetDeadLetterAsync(id, ct), cancellationToken).ConfigureAwait(false);
                result = dead is null ? NotFound<DeadLetter>($"dead letter in queue '{queue}'", id) : new(ControlStatus.Ok, dead);
            }
            catch (QueueBackendUnavailableException ex)
            {
                result = Unavailable<DeadLetter>(ex);
            }
        }
        return Audited(caller, AuditActions.DeadLetterView, $"{queue}/{id}", result);
    }

    /// <summary>Moves dead letters back into their queue (all when <paramref name="ids"/> is null); returns how many. Audited as <paramref name="caller"/>.</summary>
    public async ValueTask<ControlResult<int>> RetryDeadLettersAsync(string queue, IReadOnlyCollection<string>? ids = null, ControlCaller? caller = null,
        CancellationToken cancellationToken = default)
    {
        var result = await OnDeadLettersAsync(queue, ids, (q, i, ct) => q.RetryDeadLettersAsync(i, ct), cancellationToken).ConfigureAwait(false);
        return Audited(caller, AuditActions.DeadLettersRetry, queue, result, DeadLetterDetail(ids, result));
    }

    /// <summary>Deletes dead letters (all when <paramref name="ids"/> is null); returns how many. Audited as <paramref name="caller"/>.</summary>
    public async ValueTask<ControlResult<int>> PurgeDeadLettersAsync(string queue, IReadOnlyCollection<string>? ids = null, ControlCaller? caller = null,
        CancellationToken cancellationToken = default)
    {
        var result = await OnDeadLettersAsync(queue, ids, (q, i, ct) => q.PurgeDeadLettersAsync(i, ct), cancellationToken).ConfigureAwait(false);
        return Audited(caller, AuditActions.DeadLettersPurge, queue, result, DeadLetterDetail(ids, result));
    }

    /// <summary>
    /// Reloads configuration; an invalid result is refused (<see cref="ControlStatus.Unprocessable"/>) and the last good configuration
    /// stays. Audited as <paramref name="caller"/>.
    /// </summary>
    public ControlResult<ConfigReloadResult> ReloadConfiguration(ControlCaller? caller = null) =>
        Audited(caller, AuditActions.ConfigReload, null, ReloadCore());

    private ControlResult<ConfigReloadResult> ReloadCore()
    {
        if (NotRunning<ConfigReloadResult>() is { } refused)
            return refused;
        ConfigReloadResult result;
        try
        {
            result = _config.Reload();
        }
        catch (ConfigValidationException ex)
        {
            return new(ControlStatus.Unprocessable, null, "The configuration is invalid; nothing was changed.", ex.Errors);
        }
        return result.Applied
            ? new(ControlStatus.Ok, result)
            : new(ControlStatus.Unprocessable, result, "The reloaded configuration is invalid and was refused; the previous configuration stays in effect.", result.Errors);
    }

    /// <summary>
    /// The application's instances (heartbeats in the shared registry; this instance alone without one), the sources each leads, and
    /// each shared queue's leases by holder: live or dead. <see cref="ControlStatus.Unavailable"/> when the registry's backend does not answer.
    /// </summary>
    public async ValueTask<ControlResult<ClusterView>> GetClusterAsync(CancellationToken cancellationToken = default)
    {
        if (_cluster is null)
            return new(ControlStatus.NotFound, default, "This runtime has no cluster membership.");
        try
        {
            return new(ControlStatus.Ok, await _cluster.GetViewAsync(cancellationToken).WaitAsync(_backendTimeout(), cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is TimeoutException or QueueBackendUnavailableException)
        {
            return new(ControlStatus.Unavailable, default, "The cluster registry did not answer: " + ConfigRedaction.RedactValue(ex.Message).TrimEnd('.') + ". Try again later.")
            {
                Backend = (ex as QueueBackendUnavailableException)?.Backend,
            };
        }
    }

    /// <summary>
    /// Ends every lease a dead instance holds in the shared queues, so its tasks are delivered again now instead of when the leases run
    /// out. Refused for a live instance (<see cref="ControlStatus.Conflict"/>). Audited as <paramref name="caller"/>.
    /// </summary>
    public async ValueTask<ControlResult<int>> ReleaseInstanceLeasesAsync(string instanceId, ControlCaller? caller = null, CancellationToken cancellationToken = default)
    {
        ControlResult<int> result;
        if (string.IsNullOrEmpty(instanceId) || instanceId.Length > 512)
            result = Invalid<int>("'instance' must be an instance id of at most 512 characters.");
        else if (_cluster is null)
            result = new(ControlStatus.NotFound, default, "This runtime has no cluster membership.");
        else if (NotRunning<int>() is { } refused)
            result = refused;
        else
        {
            try
            {
                result = await _cluster.ReleaseLeasesAsync(instanceId, cancellationToken).WaitAsync(_backendTimeout(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or QueueBackendUnavailableException)
            {
                result = new(ControlStatus.Unavailable, default, "The shared queues did not answer: " + ConfigRedaction.RedactValue(ex.Message).TrimEnd('.') + ". Try again later.")
                {
                    Backend = (ex as QueueBackendUnavailableException)?.Backend,
                };
            }
        }
        return Audited(caller, AuditActions.ClusterReleaseLeases, instanceId, result, result.Succeeded ? $"released={result.Value}" : null);
    }

    /// <summary>The merged configuration, sorted, with secret values masked.</summary>
    public IReadOnlyDictionary<string, string> GetConfiguration() => _config.GetRedactedView();

    /// <summary>The most recent processed tasks with their trace ids.</summary>
    public IReadOnlyList<TaskTraceRecord> GetRecentTraces(int max = 100) => _trace.GetRecent(max);

    /// <summary>Asks the host to stop the application gracefully; accepted (again) while it is already stopping. Audited as <paramref name="caller"/>.</summary>
    public ControlResult<RuntimeState> RequestStop(ControlCaller? caller = null) =>
        Audited(caller, AuditActions.RuntimeStop, null, StopCore());

    private ControlResult<RuntimeState> StopCore()
    {
        var state = _runtime.State;
        if (state is RuntimeState.Stopping or RuntimeState.Stopped)
            return new(ControlStatus.Accepted, state);
        try
        {
            _runtime.RequestStop();
        }
        catch (InvalidOperationException ex)
        {
            return Conflict<RuntimeState>("the runtime", ex);
        }
        return new(ControlStatus.Accepted, _runtime.State);
    }

    private ControlResult<T> Audited<T>(ControlCaller? caller, string action, string? target, ControlResult<T> result, string? detail = null)
    {
        Audit.Record(caller ?? ControlCaller.Internal, action, target, result, detail);
        return result;
    }

    private static string DeadLetterDetail(IReadOnlyCollection<string>? ids, ControlResult<int> result)
    {
        var which = ids is null ? "all" : ids.Count == 1 ? "id " + ids.First() : $"{ids.Count} ids";
        return result.Succeeded ? $"{which}: {result.Value}" : which;
    }

    private ControlResult<SourceSnapshot> OnSource(string name, Action<IRuntimeSource> action)
    {
        if (!NameValidation.IsValid(name))
            return NotFound<SourceSnapshot>("source", name);
        if (NotRunning<SourceSnapshot>() is { } refused)
            return refused;
        if (!_sources.TryGet(name, out var source))
            return NotFound<SourceSnapshot>("source", name);
        try
        {
            action(source);
        }
        catch (InvalidOperationException ex)
        {
            return Conflict<SourceSnapshot>($"source '{name}'", ex);
        }
        return new(ControlStatus.Ok, source.GetSnapshot());
    }

    private ControlResult<WorkerPoolSnapshot> OnPool(string queue, Action<IWorkerPool> action)
    {
        if (FindPool(queue, out var pool) is { } refused)
            return refused;
        try
        {
            action(pool!);
        }
        catch (InvalidOperationException ex)
        {
            return Conflict<WorkerPoolSnapshot>($"worker pool '{queue}'", ex);
        }
        return new(ControlStatus.Ok, pool!.GetSnapshot());
    }

    /// <summary>The pool, or why it cannot be acted on (unknown, or the runtime is not running).</summary>
    private ControlResult<WorkerPoolSnapshot>? FindPool(string queue, out IWorkerPool? pool)
    {
        pool = null;
        if (!NameValidation.IsValid(queue))
            return NotFound<WorkerPoolSnapshot>("worker pool", queue);
        if (NotRunning<WorkerPoolSnapshot>() is { } refused)
            return refused;
        return _pools.TryGetPool(queue, out pool) ? null : NotFound<WorkerPoolSnapshot>("worker pool", queue);
    }

    private async ValueTask<ControlResult<int>> OnDeadLettersAsync(string queue, IReadOnlyCollection<string>? ids,
        Func<ITaskQueue, IReadOnlyCollection<string>?, CancellationToken, ValueTask<int>> action, CancellationToken cancellationToken)
    {
        if (ids is not null && (ids.Count > MaxIdsPerAction || ids.Any(id => string.IsNullOrEmpty(id) || id.Length > 512)))
            return Invalid<int>($"'ids' must be a list of at most {MaxIdsPerAction} non-empty task ids of at most 512 characters.");
        if (!NameValidation.IsValid(queue))
            return NotFound<int>("queue", queue);
        if (NotRunning<int>() is { } refused)
            return refused;
        if (!TryGetQueue(queue, out var q))
            return NotFound<int>("queue", queue);
        try
        {
            return new(ControlStatus.Ok, await BackendAsync(q, ct => action(q, ids, ct), cancellationToken).ConfigureAwait(false));
        }
        catch (QueueBackendUnavailableException ex)
        {
            return Unavailable<int>(ex);
        }
        catch (InvalidOperationException ex)
        {
            return Conflict<int>($"queue '{queue}'", ex);
        }
    }

    /// <summary>
    /// Runs one call to a queue's backend within <see cref="AppRuntimeOptions.BackendTimeout"/>: a backend that does not answer in
    /// time (a hung server keeps the connection open) becomes <see cref="QueueBackendUnavailableException"/>, like one that is down.
    /// An action that timed out may still complete later.
    /// </summary>
    private async Task<T> BackendAsync<T>(ITaskQueue queue, Func<CancellationToken, ValueTask<T>> call, CancellationToken cancellationToken)
    {
        var pending = call(cancellationToken);
        if (pending.IsCompletedSuccessfully)
            return pending.Result;
        var timeout = _backendTimeout();
        try
        {
            return await pending.AsTask().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new QueueBackendUnavailableException(queue.Name, queue.Backend, $"no answer within {timeout} (AppRuntime:BackendTimeout)", ex);
        }
    }

    private static ControlResult<T> Unavailable<T>(QueueBackendUnavailableException ex) =>
        new(ControlStatus.Unavailable, default, ConfigRedaction.RedactValue(ex.Message).TrimEnd('.') + ". Try again later.") { Backend = ex.Backend };

    private bool TryGetQueue(string name, out ITaskQueue queue)
    {
        queue = null!;
        return NameValidation.IsValid(name) && _queues.TryGet(name, out queue);
    }

    /// <summary>Pool, source, dead-letter and reload actions need a running runtime; before start and while stopping they are refused.</summary>
    private ControlResult<T>? NotRunning<T>()
    {
        var state = _runtime.State;
        return state == RuntimeState.Running ? null : new(ControlStatus.Conflict, default, $"The runtime is {state}; this action needs it Running.");
    }

    private static ControlResult<T> NotFound<T>(string kind, string name) =>
        new(ControlStatus.NotFound, default, $"There is no {kind} named '{(name.Length <= 120 ? name : string.Concat(name.AsSpan(0, 120), "…"))}'.");

    private static ControlResult<T> Invalid<T>(string error) => new(ControlStatus.Invalid, default, error);

    private static ControlResult<T> Conflict<T>(string what, InvalidOperationException ex) =>
        new(ControlStatus.Conflict, default, $"The action on {what} is not possible now: {ex.Message}");
}
