namespace AppRuntime.Internal;

/// <summary>A pool as the supervisor drives it.</summary>
internal interface IRuntimePool : IWorkerPool
{
    ITaskQueue TaskQueue { get; }

    void Start();

    /// <summary>Stops taking tasks and waits for workers to finish the task in hand; <paramref name="abort"/> cancels handlers still running (their tasks are released back to the queue).</summary>
    Task StopAsync(CancellationToken abort);
}

/// <summary>A source as the runtime drives it.</summary>
internal interface IRuntimeSource
{
    string Name { get; }

    string Queue { get; }

    SourceSnapshot GetSnapshot();

    /// <summary>True once the source looked at all its input and everything it published is settled.</summary>
    bool IsDrained { get; }

    /// <summary>Tasks it published that have not settled yet.</summary>
    int Unsettled { get; }

    /// <summary>True while this instance leads the source through a lease shared with other instances.</summary>
    bool LeadsShared { get; }

    void Pause();

    void Resume();

    void Start();

    Task StopAsync();
}
