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
        Token = token;
        LeasedUntil = leasedUntil;
        BackendState = backendState;
    }

    /// <summary>The queue the task came from.</summary>
    public string Queue { get; }

    /// <summary>The delivered task.</summary>
    public TaskEnvelope<T> Envelope { get; }

    /// <summary>Identifies this delivery within the backend.</summary>
    public string Token { get; }

    /// <summary>When the lease expires; renewed by <see cref="ITaskQueue{T}.RenewLeaseAsync"/>.</summary>
    public DateTimeOffset LeasedUntil { get; set; }

    /// <summary>Backend-private state.</summary>
    public object? BackendState { get; }
}
