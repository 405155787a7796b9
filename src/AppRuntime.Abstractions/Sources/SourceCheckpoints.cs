namespace AppRuntime;

/// <summary>
/// A queue capability: small named values ("checkpoints") that the sources publishing into the queue keep across restarts and
/// share with the other instances of the application, stored in the queue's backend. The Redis queue implements it with one hash
/// under the queue's key prefix and hash tag; for a queue that does not, the runtime keeps checkpoints in the process's memory.
/// Sources reach it through <see cref="ITaskSourceContext{T}.GetCheckpointAsync"/> and
/// <see cref="ITaskSourceContext{T}.TrySetCheckpointAsync"/>.
/// </summary>
public interface ISourceCheckpointStore
{
    /// <summary>The value of checkpoint <paramref name="name"/> of source <paramref name="source"/>, or null when it was never set.</summary>
    ValueTask<string?> GetCheckpointAsync(string source, string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets checkpoint <paramref name="name"/> of <paramref name="source"/> to <paramref name="value"/> if it holds
    /// <paramref name="expected"/> (null: not set); the comparison and the write are one atomic step in the backend.
    /// </summary>
    /// <returns>True when the value was written; false when the checkpoint held something else.</returns>
    ValueTask<bool> TrySetCheckpointAsync(string source, string name, string? expected, string value, CancellationToken cancellationToken = default);
}

/// <summary>
/// A queue capability: tells whether a task id is still waiting to be settled, as the backend sees it (so across every process
/// sharing the queue). The Redis queue implements it; for a queue that does not, a source's
/// <see cref="ITaskSourceContext{T}.IsUnsettledAsync"/> answers from what its own process published and settled.
/// </summary>
public interface IPendingTaskLookup
{
    /// <summary>True while the task is ready, delayed or in flight; false once it succeeded, was dead-lettered, or was never published.</summary>
    ValueTask<bool> IsPendingAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="IsPendingAsync"/> for many ids at once, answered in their order. A backend answers them in one round trip; the
    /// default asks for all of them at once, one call per id.
    /// </summary>
    async ValueTask<bool[]> ArePendingAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var calls = new Task<bool>[taskIds.Count];
        for (var i = 0; i < calls.Length; i++)
            calls[i] = IsPendingAsync(taskIds[i], cancellationToken).AsTask();
        return await Task.WhenAll(calls).ConfigureAwait(false);
    }
}
