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
}
