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
    /// Creates a lease whose token is numbered only when <see cref="Token"/> is first read (the in-memory queue tells its leases
    /// apart by reference and never reads the text).
    /// </summary>
    internal TaskLease(string queue, TaskEnvelope<T> envelope, DateTimeOffset leasedUntil, object? backendState)
        : this(queue, envelope, token: null!, leasedUntil, backendState)
    {
    }

    /// <summary>The last number given to a lease created without a token (one counter per task type: unique within the process).</summary>
    private static long s_numbered;

    private string? _token;

    /// <summary>The queue the task came from.</summary>
    public string Queue { get; }

    /// <summary>The delivered task.</summary>
    public TaskEnvelope<T> Envelope { get; }

    /// <summary>Identifies this delivery within the backend.</summary>
    public string Token => _token ?? NumberToken();

    private string NumberToken()
    {
        var text = Interlocked.Increment(ref s_numbered).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Interlocked.CompareExchange(ref _token, text, null) ?? text; // two first reads at once agree on one number
    }

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
