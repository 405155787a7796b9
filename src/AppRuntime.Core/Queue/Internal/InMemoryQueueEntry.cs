namespace AppRuntime.Internal;

/// <summary>
/// One task held by an <see cref="InMemoryTaskQueue{T}"/>, from publish until ack or dead letter. A single object per task:
/// it moves between the ready channel, the delayed heap, the in-flight list (it is its own list node) and the dead letters.
/// </summary>
/// <remarks>
/// Ownership rule: while the entry sits in the ready channel or in a local variable after being taken out of a
/// structure, exactly one thread owns it; while it is in flight, delayed or dead it is guarded by the queue's lock.
/// </remarks>
internal sealed class InMemoryQueueEntry<T>(object owner, TaskEnvelope<T> envelope)
{
    /// <summary>The queue the entry belongs to, so that a lease from another queue is never settled here.</summary>
    public object Owner { get; } = owner;

    /// <summary>The envelope as last published or delivered (its Attempt is the last delivery's).</summary>
    public TaskEnvelope<T> Envelope = envelope;

    /// <summary>Deliveries counted so far (released deliveries are not counted).</summary>
    public int Attempts = envelope.Attempt;

    /// <summary>
    /// The runtime created <see cref="Envelope"/> for its publish and nobody else holds it: the first delivery counts its attempt
    /// on it instead of on a copy. Cleared at that delivery.
    /// </summary>
    public bool OwnsEnvelope;

    /// <summary>The lease currently held on the entry; null when it is not in flight.</summary>
    public TaskLease<T>? Lease;

    /// <summary>UTC ticks: lease expiry while in flight, due time while delayed.</summary>
    public long DueTicks;

    /// <summary>In-flight list links (sorted by <see cref="DueTicks"/>).</summary>
    public InMemoryQueueEntry<T>? Previous;

    /// <summary>In-flight list links (sorted by <see cref="DueTicks"/>).</summary>
    public InMemoryQueueEntry<T>? Next;
}

/// <summary>A dead-lettered entry with the facts the dead-letter listing reports.</summary>
internal sealed record InMemoryDeadLetter<T>(
    InMemoryQueueEntry<T> Entry,
    TaskEnvelope<T> Envelope,
    int Attempts,
    string Reason,
    DateTimeOffset DeadLetteredAt)
{
    /// <summary>The listing's preview, rendered (outside the queue's lock) the first time a listing needs it, then kept.</summary>
    public InMemoryPayloadPreview? Preview { get; set; }
}

/// <summary>A bounded preview of a payload's rendering and the length of the whole rendering.</summary>
internal sealed record InMemoryPayloadPreview(string? Text, long? Size, bool Truncated);

/// <summary>
/// A queue that can take an envelope the runtime created for one publish and holds no reference to (the publisher's, a source
/// runner's): it may then count the first delivery on that envelope instead of copying it.
/// </summary>
internal interface IRuntimeEnvelopeQueue<T>
{
    /// <summary>Publishes as <see cref="ITaskQueue{T}.PublishAsync"/> does; the caller gives up <paramref name="envelope"/>.</summary>
    ValueTask PublishRuntimeEnvelopeAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken);
}
