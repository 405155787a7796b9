namespace AppRuntime;

/// <summary>Declares a pool of concurrent workers consuming one queue.</summary>
public sealed record WorkerPoolDefinition
{
    /// <summary>Creates a definition for the queue named <paramref name="queue"/>.</summary>
    public WorkerPoolDefinition(string queue)
    {
        NameValidation.ThrowIfInvalid(queue, "queue");
        Queue = queue;
    }

    /// <summary>The queue the pool consumes (the pool is named after it).</summary>
    public string Queue { get; }

    /// <summary>Concurrent workers: the default, which the pool's worker-count key overrides when the runtime starts.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>
    /// The configuration key that sets <see cref="Workers"/> (e.g. <c>MyApp:Workers</c>), in place of the platform key
    /// <c>AppRuntime:Pools:&lt;queue&gt;:Workers</c>; null uses the platform key. Either way one key sets a pool's workers.
    /// </summary>
    public string? WorkersConfigKey { get; init; }

    /// <summary>Deliveries after which a failing task is dead-lettered; overrides the queue's setting.</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>First retry delay after a failure; doubles per attempt up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest retry delay.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>First delay before a faulted worker loop is restarted; doubles up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The largest restart delay.</summary>
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks the settings and throws an <see cref="ArgumentException"/> naming the pool.</summary>
    public void Validate()
    {
        if (Workers < 1)
            throw new ArgumentException($"Worker pool '{Queue}': Workers must be at least 1 (was {Workers}).");
        if (MaxAttempts is < 1)
            throw new ArgumentException($"Worker pool '{Queue}': MaxAttempts must be at least 1 (was {MaxAttempts}).");
        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < RetryDelay)
            throw new ArgumentException($"Worker pool '{Queue}': RetryDelay must be >= 0 and <= MaxRetryDelay.");
    }
}

/// <summary>The state of one worker.</summary>
public enum WorkerState
{
    /// <summary>Waiting for a task.</summary>
    Idle,

    /// <summary>Running a handler.</summary>
    Busy,

    /// <summary>The worker loop failed and waits to be restarted.</summary>
    Faulted,

    /// <summary>Paused by an operator.</summary>
    Paused,

    /// <summary>Stopped.</summary>
    Stopped,
}

/// <summary>A worker's state (seed: expose worker state).</summary>
/// <param name="Id">Worker id within its pool.</param>
/// <param name="State">Current state.</param>
/// <param name="CurrentTaskId">The task in hand, if busy.</param>
/// <param name="Processed">Tasks it completed successfully.</param>
/// <param name="Failed">Tasks whose handler failed.</param>
/// <param name="Restarts">How often its loop was restarted after a fault.</param>
/// <param name="LastError">The last error.</param>
public sealed record WorkerSnapshot(int Id, WorkerState State, string? CurrentTaskId, long Processed, long Failed, int Restarts, string? LastError);

/// <summary>A pool's state.</summary>
/// <param name="Queue">The queue (and pool) name.</param>
/// <param name="DesiredWorkers">Workers the pool is scaled to.</param>
/// <param name="Paused">True while paused.</param>
/// <param name="Workers">Each worker's state.</param>
public sealed record WorkerPoolSnapshot(string Queue, int DesiredWorkers, bool Paused, IReadOnlyList<WorkerSnapshot> Workers)
{
    /// <summary>Total tasks processed by the pool.</summary>
    public long Processed => Workers.Sum(w => w.Processed);

    /// <summary>Total handler failures.</summary>
    public long Failed => Workers.Sum(w => w.Failed);
}

/// <summary>A running pool of workers (seed: Worker). Operators pause, resume and scale it at run time.</summary>
public interface IWorkerPool
{
    /// <summary>The queue the pool consumes.</summary>
    string Queue { get; }

    /// <summary>Current state.</summary>
    WorkerPoolSnapshot GetSnapshot();

    /// <summary>Stops taking new tasks; tasks in hand finish.</summary>
    void Pause();

    /// <summary>Takes tasks again.</summary>
    void Resume();

    /// <summary>Changes the number of workers. Removed workers finish the task in hand first.</summary>
    ValueTask ScaleAsync(int workers, CancellationToken cancellationToken = default);
}
