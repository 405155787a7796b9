namespace AppRuntime;

/// <summary>
/// A consumed task held by one consumer until it is acked, nacked, dead-lettered or released, or until
/// <see cref="LeasedUntil"/> passes, after which the backend redelivers it.
/// </summary>
/// <typeparam name="T">The task type.</typeparam>
public sealed class TaskLease<T>
{
    /// <summary>Creates a lease. Called by queue backends.</summary>
    /// <param name="queue">The queue the task was consumed from.</param>
    /// <param name="envelope">The delivered envelope; its <see cref="TaskEnvelope{T}.Attempt"/> counts this delivery.</param>
    /// <param name="token">A backend-specific token that identifies this delivery.</param>
    /// <param name="leasedUntil">When the lease expires unless renewed.</param>
    /// <param name="backendState">Optional state the backend keeps with the lease.</param>
    public TaskLease(string queue, TaskEnvelope<T> envelope, string token, DateTimeOffset leasedUntil, object? backendState = null)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Queue = queue;
        Envelope = envelope;
        _token = token;
        LeasedUntil = leasedUntil;
        BackendState = backendState;
    }

    /// <summary>
    /// Creates a lease whose token is a delivery number, rendered as text only when <see cref="Token"/> is read (the in-memory
    /// queue tells its leases apart by reference and never needs the text).
    /// </summary>
    internal TaskLease(string queue, TaskEnvelope<T> envelope, long tokenNumber, DateTimeOffset leasedUntil, object? backendState)
    {
        Queue = queue;
        Envelope = envelope;
        _tokenNumber = tokenNumber;
        LeasedUntil = leasedUntil;
        BackendState = backendState;
    }

    private readonly long _tokenNumber = -1; // -1: the token came as text (the public constructor)
    private string? _token;

    /// <summary>The queue the task came from.</summary>
    public string Queue { get; }

    /// <summary>The delivered task.</summary>
    public TaskEnvelope<T> Envelope { get; }

    /// <summary>Identifies this delivery within the backend.</summary>
    public string Token => _token ?? (_tokenNumber < 0 ? null! : _token = _tokenNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private long _leasedUntilUtcTicks; // kept as UTC ticks (8 bytes instead of a DateTimeOffset's 16: one lease per delivery)

    /// <summary>When the lease expires, in UTC (a value with another offset is kept as the same instant); renewed by <see cref="ITaskQueue{T}.RenewLeaseAsync"/>.</summary>
    public DateTimeOffset LeasedUntil
    {
        get => new(_leasedUntilUtcTicks, TimeSpan.Zero);
        set => _leasedUntilUtcTicks = value.UtcTicks;
    }

    /// <summary>Backend-private state.</summary>
    public object? BackendState { get; }
}
