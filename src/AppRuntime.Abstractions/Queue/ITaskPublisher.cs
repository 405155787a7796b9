namespace AppRuntime;

/// <summary>Publishes tasks into the queue declared for <typeparamref name="T"/>, with a producer trace span. Resolvable from DI.</summary>
/// <typeparam name="T">The task type of a declared queue.</typeparam>
public interface ITaskPublisher<T>
{
    /// <summary>The queue the publisher writes to.</summary>
    string QueueName { get; }

    /// <summary>Publishes one task; waits while the queue is full.</summary>
    /// <returns>The task id.</returns>
    ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes one task at most once per <see cref="TaskPublishOptions.Id"/> within <see cref="TaskPublishOptions.DeduplicationWindow"/>
    /// (both required); a duplicate publishes nothing and says so.
    /// </summary>
    ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This publisher does not publish with deduplication.");

    /// <summary>
    /// Publishes several tasks, in list order, each with a new id and its own producer span; <paramref name="options"/> (a delay,
    /// headers) applies to every task and must not set <see cref="TaskPublishOptions.Id"/> or a deduplication window. A durable
    /// backend writes them in as few round trips as it can (Redis: one script call per 256 tasks); waits while the queue is full.
    /// If it throws, a prefix of the list may have been published.
    /// </summary>
    /// <returns>The task ids, in list order.</returns>
    async ValueTask<IReadOnlyList<string>> PublishManyAsync(IReadOnlyList<T> tasks, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        TaskPublishOptions.ThrowIfPerTask(options);
        var ids = new string[tasks.Count];
        for (var i = 0; i < tasks.Count; i++)
            ids[i] = await PublishAsync(tasks[i], options, cancellationToken).ConfigureAwait(false);
        return ids;
    }
}
