namespace AppRuntime;

/// <summary>
/// A held lease on an exclusive source's resource: which instance holds it and its fencing token. Every new holder gets a larger
/// token than any holder before it, so a publish carrying an older token can be refused by the backend.
/// </summary>
/// <param name="Resource">What the lease makes exclusive (for an IMAP source: server, user and folder).</param>
/// <param name="Holder">The instance id of the holder.</param>
/// <param name="Token">The fencing token, increasing with every new holder.</param>
/// <param name="ExpiresAt">When the lease runs out unless it is renewed (on the holder's clock).</param>
public sealed record SourceLease(string Resource, string Holder, long Token, DateTimeOffset ExpiresAt);

/// <summary>
/// A queue capability: leases that make a source exclusive across the instances sharing the queue's backend (leadership), and
/// publishes fenced by them. The Redis queue implements it; for a queue that does not, leadership is local and always granted.
/// </summary>
public interface ISourceLeaseStore
{
    /// <summary>
    /// Takes the lease on <paramref name="resource"/> for <paramref name="holder"/> for <paramref name="duration"/> when nobody
    /// holds it (or it ran out); null when another holder has it. A holder that asks again while it holds the lease gets it back
    /// renewed, with the same token.
    /// </summary>
    ValueTask<SourceLease?> TryAcquireSourceLeaseAsync(string resource, string holder, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>Extends <paramref name="lease"/> by <paramref name="duration"/>; null when it is no longer held (it ran out, or another holder took it).</summary>
    ValueTask<SourceLease?> RenewSourceLeaseAsync(SourceLease lease, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>Gives <paramref name="lease"/> up at once (another instance may take it); nothing happens when it is no longer held.</summary>
    ValueTask ReleaseSourceLeaseAsync(SourceLease lease, CancellationToken cancellationToken = default);

    /// <summary>The current holder of <paramref name="resource"/>, or null when nobody holds it.</summary>
    ValueTask<SourceLease?> GetSourceLeaseAsync(string resource, CancellationToken cancellationToken = default);
}

/// <summary>
/// A queue capability beside <see cref="ISourceLeaseStore"/>: a publish that the backend accepts only while <c>fence</c> is still
/// the current lease of its resource, checked in the same atomic step as the publish. A leader that lost its lease (it was paused
/// or cut off past the lease time, and another instance took over) therefore publishes nothing.
/// </summary>
/// <typeparam name="T">The task type.</typeparam>
public interface IFencedTaskQueue<T>
{
    /// <summary>
    /// Publishes like <see cref="ITaskQueue{T}.PublishAsync"/> (or, with a positive <paramref name="deduplicationWindow"/>, like
    /// <see cref="ITaskQueue{T}.PublishOnceAsync"/>), when <paramref name="fence"/> still holds.
    /// </summary>
    /// <returns>True when published; false when the id was a duplicate.</returns>
    /// <exception cref="SourceLeaseLostException">The lease is no longer held by <paramref name="fence"/>'s holder and token: nothing was published.</exception>
    ValueTask<bool> PublishFencedAsync(TaskEnvelope<T> envelope, TimeSpan deduplicationWindow, SourceLease fence, CancellationToken cancellationToken = default);
}

/// <summary>A fenced publish was refused: the source's lease now belongs to another holder (or ran out).</summary>
public sealed class SourceLeaseLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SourceLeaseLostException()
        : base("The source lease is no longer held.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public SourceLeaseLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public SourceLeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a lease that was lost.</summary>
    public SourceLeaseLostException(SourceLease lease)
        : base($"The lease on '{lease?.Resource}' (token {lease?.Token}) is no longer held by '{lease?.Holder}'; nothing was published.")
    {
        Lease = lease;
    }

    /// <summary>The lease that was lost, when known.</summary>
    public SourceLease? Lease { get; }
}

/// <summary>
/// Implemented by a source whose input must be read by one instance at a time: the resource it reads (for example
/// <c>imap://host:993/user/INBOX</c>). Such a source is exclusive by default (<c>AppRuntime:Sources:&lt;name&gt;:Exclusive</c>
/// can turn it off); one instance leads it and the others stand by.
/// </summary>
public interface IExclusiveTaskSource
{
    /// <summary>The resource the source reads; instances whose sources name the same resource share one lease.</summary>
    string ExclusiveResource { get; }
}

/// <summary>A source's leadership as its instance sees it.</summary>
/// <param name="Role"><c>leader</c> (it runs), <c>standby</c> (another instance runs it) or <c>local</c> (not shared: always runs).</param>
/// <param name="Resource">The leased resource (null when local).</param>
/// <param name="Token">The fencing token while leader.</param>
/// <param name="Holder">The instance that leads, when known.</param>
/// <param name="Since">When this instance's role last changed.</param>
public sealed record SourceLeadership(string Role, string? Resource, long? Token, string? Holder, DateTimeOffset Since);
