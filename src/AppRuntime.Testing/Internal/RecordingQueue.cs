namespace AppRuntime.Testing.Internal;

/// <summary>An in-memory queue that records what happens to its tasks in the harness's journal.</summary>
internal sealed class RecordingQueue<T>(ITaskQueue<T> inner, string backend, TaskSerializer<T>? serializer, TaskJournal journal)
    : ITaskQueue<T>, IAsyncDisposable
{
    public string Name => inner.Name;

    public string TaskType => inner.TaskType;

    public string Backend { get; } = backend;

    public QueueDefinition Definition => inner.Definition;

    public ValueTask<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default) => inner.GetStatsAsync(cancellationToken);

    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default) =>
        inner.GetDeadLettersAsync(max, cancellationToken);

    public ValueTask<DeadLetterListing> ListDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default) =>
        inner.ListDeadLettersAsync(max, cancellationToken);

    public ValueTask<DeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default) =>
        inner.GetDeadLetterAsync(id, cancellationToken);

    public async ValueTask<int> RetryDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default)
    {
        journal.Touch();
        return await inner.RetryDeadLettersAsync(ids, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<int> PurgeDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) =>
        inner.PurgeDeadLettersAsync(ids, cancellationToken);

    public async ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        envelope = RoundTrip(envelope);
        journal.Touch();
        await inner.PublishAsync(envelope, cancellationToken).ConfigureAwait(false);
        Published(envelope);
    }

    public async ValueTask<bool> PublishOnceAsync(TaskEnvelope<T> envelope, TimeSpan window, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        envelope = RoundTrip(envelope);
        journal.Touch();
        var published = await inner.PublishOnceAsync(envelope, window, cancellationToken).ConfigureAwait(false);
        if (published)
            Published(envelope);
        return published;
    }

    public async ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default)
    {
        var lease = await inner.ConsumeAsync(cancellationToken).ConfigureAwait(false);
        journal.Delivered(Name, lease.Envelope.Id);
        journal.Touch();
        return lease;
    }

    public async ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var acked = await inner.AckAsync(lease, cancellationToken).ConfigureAwait(false);
        if (acked)
            journal.Add(TaskEventKind.Handled, Name, lease.Envelope.Id, lease.Envelope.Payload, lease.Envelope.Attempt);
        else
            journal.Touch();
        return acked;
    }

    public async ValueTask<NackResult> NackAsync(TaskLease<T> lease, TimeSpan? retryDelay = null, string? error = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var now = journal.Time.GetUtcNow();
        var result = await inner.NackAsync(lease, retryDelay, error, cancellationToken).ConfigureAwait(false);
        var envelope = lease.Envelope;
        switch (result)
        {
            case NackResult.Requeued:
                if (retryDelay is { } delay && delay > TimeSpan.Zero)
                    journal.Delayed(Name, envelope.Id, now + delay);
                journal.Add(TaskEventKind.Retried, Name, envelope.Id, envelope.Payload, envelope.Attempt, error, retryDelay ?? TimeSpan.Zero);
                break;
            case NackResult.DeadLettered:
                journal.Add(TaskEventKind.DeadLettered, Name, envelope.Id, envelope.Payload, envelope.Attempt, error);
                break;
            default:
                journal.Touch();
                break;
        }
        return result;
    }

    public async ValueTask<bool> DeadLetterAsync(TaskLease<T> lease, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var done = await inner.DeadLetterAsync(lease, reason, cancellationToken).ConfigureAwait(false);
        if (done)
            journal.Add(TaskEventKind.DeadLettered, Name, lease.Envelope.Id, lease.Envelope.Payload, lease.Envelope.Attempt, reason);
        else
            journal.Touch();
        return done;
    }

    public async ValueTask<bool> ReleaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var released = await inner.ReleaseAsync(lease, cancellationToken).ConfigureAwait(false);
        if (released)
            journal.Add(TaskEventKind.Released, Name, lease.Envelope.Id, lease.Envelope.Payload, lease.Envelope.Attempt);
        return released;
    }

    public ValueTask<bool> RenewLeaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default) => inner.RenewLeaseAsync(lease, cancellationToken);

    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    private void Published(TaskEnvelope<T> envelope)
    {
        if (envelope.NotBefore is { } notBefore && notBefore > journal.Time.GetUtcNow())
            journal.Delayed(Name, envelope.Id, notBefore);
        journal.Add(TaskEventKind.Published, Name, envelope.Id, envelope.Payload, envelope.Attempt);
    }

    /// <summary>A stand-in for a durable backend stores what its serializer makes of the task, as the real backend would.</summary>
    private TaskEnvelope<T> RoundTrip(TaskEnvelope<T> envelope) =>
        serializer is null ? envelope : envelope with { Payload = serializer.Deserialize(serializer.Serialize(envelope.Payload)) };
}
