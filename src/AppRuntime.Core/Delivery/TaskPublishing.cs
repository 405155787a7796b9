namespace AppRuntime.Internal;

/// <summary>Publishes tasks into a queue with a producer span (shared by source runners and <see cref="ITaskPublisher{T}"/>).</summary>
internal static class TaskPublishing
{
    /// <summary>Publishes <paramref name="task"/> with the id <paramref name="id"/> (from the options, or a new one).</summary>
    public static async ValueTask PublishAsync<T>(ITaskQueue<T> queue, RuntimeServices services, string? sourceName, string id, T task,
        TaskPublishOptions? options, CancellationToken cancellationToken)
    {
        using var activity = services.Trace.StartPublish(queue.Name, id, sourceName, options?.Headers, out var headers);
        var now = services.Time.GetUtcNow();
        var envelope = new TaskEnvelope<T>(id, queue.TaskType, task, now)
        {
            Headers = headers,
            NotBefore = options?.Delay is { } delay && delay > TimeSpan.Zero ? now + delay : null,
        };
        await queue.PublishAsync(envelope, cancellationToken).ConfigureAwait(false);
        services.Trace.Tasks.Published(queue.Name);
    }
}

/// <summary>The DI-resolvable publisher of a queue.</summary>
internal sealed class TaskPublisher<T>(QueueManager queues, string queueName) : ITaskPublisher<T>
{
    private ITaskQueue<T>? _queue;

    public string QueueName { get; } = queueName;

    public async ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var id = options?.Id ?? TaskIds.Next();
        await TaskPublishing.PublishAsync(_queue ??= queues.Get<T>(QueueName), queues.Services, sourceName: null, id, task, options, cancellationToken)
            .ConfigureAwait(false);
        return id;
    }
}
