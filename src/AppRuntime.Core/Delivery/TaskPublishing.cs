namespace AppRuntime.Internal;

/// <summary>Publishes tasks into a queue with a producer span (shared by source runners and <see cref="ITaskPublisher{T}"/>).</summary>
internal static class TaskPublishing
{
    /// <summary>
    /// Publishes <paramref name="task"/> with the id <paramref name="id"/> (from the options, or a new one); with
    /// <see cref="TaskPublishOptions.DeduplicationWindow"/> at most once per id in the window. False: a duplicate, nothing published.
    /// </summary>
    public static async ValueTask<bool> PublishAsync<T>(ITaskQueue<T> queue, RuntimeServices services, string? sourceName, string id, T task,
        TaskPublishOptions? options, CancellationToken cancellationToken, SourceLease? fence = null)
    {
        using var activity = services.Trace.StartPublish(queue.Name, id, sourceName, options?.Headers, out var headers);
        var now = services.Time.GetUtcNow();
        var envelope = new TaskEnvelope<T>(id, queue.TaskType, task, now)
        {
            Headers = headers,
            NotBefore = options?.Delay is { } delay && delay > TimeSpan.Zero ? now + delay : null,
        };
        if (fence is not null && queue is IFencedTaskQueue<T> fenced)
        {
            // An exclusive source's publish: the backend checks, in the same step, that its lease is still the current one.
            if (!await fenced.PublishFencedAsync(envelope, options?.DeduplicationWindow ?? TimeSpan.Zero, fence, cancellationToken).ConfigureAwait(false))
                return false;
        }
        else if (options?.DeduplicationWindow is { } window)
        {
            if (!await queue.PublishOnceAsync(envelope, window, cancellationToken).ConfigureAwait(false))
                return false;
        }
        else if (queue is IRuntimeEnvelopeQueue<T> owned)
        {
            await owned.PublishRuntimeEnvelopeAsync(envelope, cancellationToken).ConfigureAwait(false); // nothing here reads it again
        }
        else
        {
            await queue.PublishAsync(envelope, cancellationToken).ConfigureAwait(false);
        }
        services.Trace.Tasks.Published(queue.Name);
        return true;
    }

    /// <summary>Checks the options of a deduplicated publish: an id and a positive window.</summary>
    public static void ThrowIfNotDeduplicated(TaskPublishOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Id))
            throw new ArgumentException("A deduplicated publish needs TaskPublishOptions.Id.", nameof(options));
        if (options.DeduplicationWindow is not { } window || window <= TimeSpan.Zero)
            throw new ArgumentException("A deduplicated publish needs a positive TaskPublishOptions.DeduplicationWindow.", nameof(options));
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

    public async ValueTask<IReadOnlyList<string>> PublishManyAsync(IReadOnlyList<T> tasks, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        TaskPublishOptions.ThrowIfPerTask(options);
        var queue = _queue ??= queues.Get<T>(QueueName);
        var services = queues.Services;
        var ids = new string[tasks.Count];
        var envelopes = new TaskEnvelope<T>[tasks.Count];
        System.Diagnostics.Activity?[]? spans = null;
        // Every producer span is a sibling under the caller's span (starting one makes it current: the next would nest in it).
        var parent = System.Diagnostics.Activity.Current;
        var now = services.Time.GetUtcNow();
        try
        {
            for (var i = 0; i < tasks.Count; i++)
            {
                var id = ids[i] = TaskIds.Next();
                var span = services.Trace.StartPublish(queue.Name, id, sourceName: null, options?.Headers, out var headers);
                if (span is not null)
                {
                    (spans ??= new System.Diagnostics.Activity?[tasks.Count])[i] = span;
                    System.Diagnostics.Activity.Current = parent;
                }
                envelopes[i] = new TaskEnvelope<T>(id, queue.TaskType, tasks[i], now)
                {
                    Headers = headers,
                    NotBefore = options?.Delay is { } delay && delay > TimeSpan.Zero ? now + delay : null,
                };
            }
            await queue.PublishManyAsync(envelopes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (spans is not null)
            {
                foreach (var span in spans)
                    span?.Dispose();
                System.Diagnostics.Activity.Current = parent;
            }
        }
        services.Trace.Tasks.Published(queue.Name, ids.Length);
        return ids;
    }

    public async ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default)
    {
        TaskPublishing.ThrowIfNotDeduplicated(options);
        var published = await TaskPublishing.PublishAsync(_queue ??= queues.Get<T>(QueueName), queues.Services, sourceName: null, options.Id!, task, options,
            cancellationToken).ConfigureAwait(false);
        return new PublishResult(options.Id!, published);
    }
}
