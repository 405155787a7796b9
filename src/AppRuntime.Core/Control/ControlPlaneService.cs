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

/// <summary>
/// Runtime state and administrative actions as a service (seed: ControlPlaneService). The HTTP adapter exposes it;
/// every action names what it acts on and throws <see cref="UnknownComponentException"/> for an unknown name.
/// </summary>
public sealed class ControlPlaneService
{
    private readonly RuntimeManager _runtime;
    private readonly WorkerSupervisor _supervisor;
    private readonly QueueManager _queues;
    private readonly ConfigurationManager _config;
    private readonly RuntimeRegistry _registry;
    private readonly TraceService _trace;

    internal ControlPlaneService(RuntimeManager runtime, WorkerSupervisor supervisor, QueueManager queues, ConfigurationManager config,
        RuntimeRegistry registry, TraceService trace, HealthRegistry health)
    {
        _runtime = runtime;
        _supervisor = supervisor;
        _queues = queues;
        _config = config;
        _registry = registry;
        _trace = trace;
        Health = health;
    }

    /// <summary>The health registry.</summary>
    public HealthRegistry Health { get; }

    /// <summary>The declared modules.</summary>
    public IReadOnlyList<ModuleTopology> Topology => [.. _registry.Modules];

    /// <summary>The declared topology as Mermaid text.</summary>
    public string TopologyMermaid => ModuleTopology.ToMermaid(_registry.Modules);

    /// <summary>A snapshot of the runtime, pools, workers, queues and sources.</summary>
    public async Task<RuntimeStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var queues = new List<QueueStatus>();
        foreach (var q in _queues.All)
            queues.Add(new QueueStatus(q.Name, q.TaskType, q.Backend, await q.GetStatsAsync(cancellationToken).ConfigureAwait(false)));
        return new RuntimeStatus(_runtime.State, _runtime.StartedAt, _runtime.FaultReason, queues, _supervisor.GetSnapshots(), _runtime.GetSourceSnapshots());
    }

    /// <summary>Pauses a source: it stops publishing until resumed.</summary>
    public void PauseSource(string name) => _runtime.GetSource(name).Pause();

    /// <summary>Resumes a paused source.</summary>
    public void ResumeSource(string name) => _runtime.GetSource(name).Resume();

    /// <summary>Pauses a worker pool: workers finish the task in hand and take no more.</summary>
    public void PausePool(string queue) => _supervisor.GetPool(queue).Pause();

    /// <summary>Resumes a paused worker pool.</summary>
    public void ResumePool(string queue) => _supervisor.GetPool(queue).Resume();

    /// <summary>Scales a pool to <paramref name="workers"/> workers (at least 1).</summary>
    public ValueTask ScalePoolAsync(string queue, int workers, CancellationToken cancellationToken = default) =>
        _supervisor.GetPool(queue).ScaleAsync(workers, cancellationToken);

    /// <summary>Lists a queue's dead letters.</summary>
    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(string queue, int max = 100, CancellationToken cancellationToken = default) =>
        GetQueue(queue).GetDeadLettersAsync(max, cancellationToken);

    /// <summary>Moves dead letters back into their queue (all when <paramref name="ids"/> is null).</summary>
    public ValueTask<int> RetryDeadLettersAsync(string queue, IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) =>
        GetQueue(queue).RetryDeadLettersAsync(ids, cancellationToken);

    /// <summary>Deletes dead letters (all when <paramref name="ids"/> is null).</summary>
    public ValueTask<int> PurgeDeadLettersAsync(string queue, IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) =>
        GetQueue(queue).PurgeDeadLettersAsync(ids, cancellationToken);

    /// <summary>Reloads configuration; an invalid result is refused and the last good configuration stays.</summary>
    public ConfigReloadResult ReloadConfiguration() => _config.Reload();

    /// <summary>The merged configuration, sorted, with secret values masked.</summary>
    public IReadOnlyDictionary<string, string> GetConfiguration() => _config.GetRedactedView();

    /// <summary>The most recent processed tasks with their trace ids.</summary>
    public IReadOnlyList<TaskTraceRecord> GetRecentTraces(int max = 100) => _trace.GetRecent(max);

    /// <summary>Asks the host to stop the application gracefully.</summary>
    public void RequestStop() => _runtime.RequestStop();

    private ITaskQueue GetQueue(string name) =>
        _queues.TryGet(name, out var q) ? q : throw new UnknownComponentException("queue", name);
}
