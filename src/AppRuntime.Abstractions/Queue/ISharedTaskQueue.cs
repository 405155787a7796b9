namespace AppRuntime;

/// <summary>
/// A queue whose tasks several processes share (a durable backend such as Redis), implemented beside <see cref="ITaskQueue{T}"/>.
/// It tells the tasks this process holds apart from the queue's, so that a stopping process waits for its own work only:
/// the tasks its workers handle and the tasks it leased ahead (<see cref="Buffered"/>), not the tasks other processes hold or
/// nobody has taken yet.
/// </summary>
public interface ISharedTaskQueue
{
    /// <summary>Tasks this process leased ahead of its consumers (prefetched) and has not handed to a consumer yet.</summary>
    int Buffered { get; }

    /// <summary>
    /// Called when the process stops: from now on <see cref="ITaskQueue{T}.ConsumeAsync"/> hands out only the tasks this process
    /// has leased already (<see cref="Buffered"/>) and otherwise waits until it is cancelled; nothing new is leased. Tasks still
    /// buffered when the queue is disposed go back to the queue.
    /// </summary>
    void StopLeasing();
}
