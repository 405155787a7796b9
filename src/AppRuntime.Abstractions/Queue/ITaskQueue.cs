namespace AppRuntime;

/// <summary>The type-independent view of a queue: name, statistics and dead letters.</summary>
public interface ITaskQueue
{
    /// <summary>The queue name, unique in the runtime.</summary>
    string Name { get; }

    /// <summary>The logical task type carried by the queue.</summary>
    string TaskType { get; }

    /// <summary>The backend name, for example <c>InMemory</c> or <c>Redis</c>.</summary>
    string Backend { get; }

    /// <summary>The definition the queue was created from.</summary>
    QueueDefinition Definition { get; }

    /// <summary>Returns current counters.</summary>
    ValueTask<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists up to <paramref name="max"/> dead letters, oldest first, each with a bounded preview of its payload (at most
    /// <see cref="DeadLetter.PreviewLength"/> characters, <see cref="DeadLetter.PayloadTruncated"/> when cut). A listing must not
    /// load whole payloads: a durable backend reads only a prefix of each.
    /// </summary>
    ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default);

    /// <summary>One dead letter with its whole payload rendering, or null when no dead letter has the id <paramref name="id"/>.</summary>
    ValueTask<DeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default);
    /// <summary>
    /// Lists up to <paramref name="max"/> dead letters, oldest first, and reports separately the entries among them that the backend
    /// could not read (a corrupt stored record): they are skipped, never fail the listing. The default lists with
    /// <see cref="GetDeadLettersAsync"/> and skips nothing.
    /// </summary>
    async ValueTask<DeadLetterListing> ListDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default) =>
        new(await GetDeadLettersAsync(max, cancellationToken).ConfigureAwait(false), []);

    /// <summary>Moves dead letters back into the queue with a fresh attempt count. <paramref name="ids"/> null means all.</summary>
    /// <returns>How many were moved.</returns>
    ValueTask<int> RetryDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes dead letters. <paramref name="ids"/> null means all.</summary>
    /// <returns>How many were deleted.</returns>
    ValueTask<int> PurgeDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default);
}

/// <summary>
/// The queue contract (seed: publish, consume, ack, nack(retry_delay), stats). Delivery is at-least-once:
/// a leased task that is not settled before its lease expires is delivered again.
/// </summary>
/// <typeparam name="T">The task type.</typeparam>
public interface ITaskQueue<T> : ITaskQueue
{
    /// <summary>
    /// Publishes a task. Waits while the queue is at capacity (backpressure) and throws
    /// <see cref="OperationCanceledException"/> if <paramref name="cancellationToken"/> fires first.
    /// </summary>
    ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes a task unless a task with the same id was published through this method within <paramref name="window"/>
    /// (whatever became of it since: ready, leased, done or dead-lettered); then nothing is published and the result is false.
    /// The check and the publish are one atomic step, so concurrent publishers, in this process or in others sharing a durable
    /// backend, publish an id once. Waits while the queue is full, like <see cref="PublishAsync"/>; a publish that is cancelled
    /// while it waits does not claim the id.
    /// </summary>
    /// <returns>True when the task was published, false when it was a duplicate.</returns>
    ValueTask<bool> PublishOnceAsync(TaskEnvelope<T> envelope, TimeSpan window, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes several tasks, in list order, as <see cref="PublishAsync"/> would publish each (waits while the queue is full).
    /// A durable backend writes them in as few round trips as it can (Redis: one script call per 256 tasks). If it throws, a
    /// prefix of the list may have been published; on Redis, which skips an id that is still in the queue, publishing the same
    /// envelopes again is safe. The default publishes one at a time.
    /// </summary>
    async ValueTask PublishManyAsync(IReadOnlyList<TaskEnvelope<T>> envelopes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        for (var i = 0; i < envelopes.Count; i++)
            await PublishAsync(envelopes[i], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for the next due task and leases it to the caller. The returned envelope's attempt counts this delivery.</summary>
    ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default);

    /// <summary>Settles a lease as done. Returns false when the lease was no longer held (it expired and the task was redelivered).</summary>
    ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default);

    /// <summary>
    /// Settles a lease as failed. The task is delivered again after <paramref name="retryDelay"/> (immediately when null),
    /// unless it has reached <see cref="QueueDefinition.MaxAttempts"/>, in which case it is dead-lettered with <paramref name="error"/>.
    /// </summary>
    ValueTask<NackResult> NackAsync(TaskLease<T> lease, TimeSpan? retryDelay = null, string? error = null, CancellationToken cancellationToken = default);

    /// <summary>Moves the leased task to the dead-letter store at once (a permanent failure).</summary>
    ValueTask<bool> DeadLetterAsync(TaskLease<T> lease, string reason, CancellationToken cancellationToken = default);

    /// <summary>Gives the task back without counting the delivery as an attempt (used on shutdown).</summary>
    ValueTask<bool> ReleaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease by the queue's visibility timeout. Returns false when the lease was already lost.</summary>
    ValueTask<bool> RenewLeaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default);
}

/// <summary>What a nack did with the task.</summary>
public enum NackResult
{
    /// <summary>The lease was no longer held; nothing changed.</summary>
    LeaseLost,

    /// <summary>The task will be delivered again.</summary>
    Requeued,

    /// <summary>The task reached its maximum attempts and was dead-lettered.</summary>
    DeadLettered,
}
