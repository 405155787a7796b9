namespace AppRuntime.Core.Tests;

/// <summary>
/// A backend that wraps in-memory queues so a test can inject failures into ConsumeAsync, RenewLeaseAsync and AckAsync, and hold
/// an ack open (<paramref name="holdAck"/>: by task id, a task to wait for before the ack reaches the queue, or null).
/// </summary>
internal sealed class InterceptingBackend(string name, ITaskQueueBackend inner, Func<Exception?> consumeFault, Func<Exception?>? renewFault = null,
    Func<bool>? refuseRenew = null, Func<string, Task?>? holdAck = null, Func<string, Exception?>? ackFault = null) : ITaskQueueBackend
{
    public string Name => name;

    public bool IsDurable => false;

    public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer) =>
        new InterceptingQueue<T>(inner.Create(definition, serializer), name, consumeFault, renewFault, refuseRenew, holdAck, ackFault);
}

internal sealed class InterceptingQueue<T>(ITaskQueue<T> inner, string backend, Func<Exception?> consumeFault, Func<Exception?>? renewFault = null,
    Func<bool>? refuseRenew = null, Func<string, Task?>? holdAck = null, Func<string, Exception?>? ackFault = null) : ITaskQueue<T>
{
    public string Name => inner.Name;
    public string TaskType => inner.TaskType;
    public string Backend => backend;
    public QueueDefinition Definition => inner.Definition;

    public ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default) =>
        consumeFault() is { } fault ? throw fault : inner.ConsumeAsync(cancellationToken);

    public ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default) => inner.PublishAsync(envelope, cancellationToken);

    public ValueTask<bool> PublishOnceAsync(TaskEnvelope<T> envelope, TimeSpan window, CancellationToken cancellationToken = default) =>
        inner.PublishOnceAsync(envelope, window, cancellationToken);
    public ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        if (ackFault?.Invoke(lease.Envelope.Id) is { } fault)
            return ValueTask.FromException<bool>(fault);
        return holdAck?.Invoke(lease.Envelope.Id) is { } hold ? HeldAckAsync(hold, lease, cancellationToken) : inner.AckAsync(lease, cancellationToken);
    }

    private async ValueTask<bool> HeldAckAsync(Task hold, TaskLease<T> lease, CancellationToken cancellationToken)
    {
        await hold.ConfigureAwait(false);
        return await inner.AckAsync(lease, cancellationToken).ConfigureAwait(false);
    }
    public ValueTask<NackResult> NackAsync(TaskLease<T> lease, TimeSpan? retryDelay = null, string? error = null, CancellationToken cancellationToken = default) => inner.NackAsync(lease, retryDelay, error, cancellationToken);
    public ValueTask<bool> DeadLetterAsync(TaskLease<T> lease, string reason, CancellationToken cancellationToken = default) => inner.DeadLetterAsync(lease, reason, cancellationToken);
    public ValueTask<bool> ReleaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default) => inner.ReleaseAsync(lease, cancellationToken);
    public ValueTask<bool> RenewLeaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default) =>
        renewFault?.Invoke() is { } fault ? ValueTask.FromException<bool>(fault)
        : refuseRenew?.Invoke() == true ? ValueTask.FromResult(false)
        : inner.RenewLeaseAsync(lease, cancellationToken);
    public ValueTask<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default) => inner.GetStatsAsync(cancellationToken);
    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default) => inner.GetDeadLettersAsync(max, cancellationToken);
    public ValueTask<DeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default) => inner.GetDeadLetterAsync(id, cancellationToken);
    public ValueTask<int> RetryDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) => inner.RetryDeadLettersAsync(ids, cancellationToken);
    public ValueTask<int> PurgeDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) => inner.PurgeDeadLettersAsync(ids, cancellationToken);
}
