namespace AppRuntime.Internal;

/// <summary>What the queue is told after a handler ran.</summary>
internal enum SettlementKind
{
    /// <summary>Acknowledge: the task is done.</summary>
    Ack,

    /// <summary>Deliver again after <see cref="Settlement.Delay"/> (the queue dead-letters it when its attempts ran out).</summary>
    Retry,

    /// <summary>Move it to the dead letters with <see cref="Settlement.Reason"/>.</summary>
    DeadLetter,

    /// <summary>Give it back to the queue as it was (the runtime is stopping; the attempt does not count as a failure).</summary>
    Release,
}

/// <summary>A settlement decision: plain data, so tests can drive the policy without a queue.</summary>
internal readonly record struct Settlement(SettlementKind Kind, TimeSpan Delay = default, string? Reason = null)
{
    public static Settlement Ack { get; } = new(SettlementKind.Ack);
}

/// <summary>
/// Turns a handler's result into a settlement: success acknowledges; a <see cref="PermanentTaskException"/> or a payload that
/// cannot be read dead-letters at once; a cancellation caused by the runtime's stop releases; a <see cref="RetryTaskException"/>
/// retries after the delay it asks for; anything else retries with exponential backoff from the pool's
/// <see cref="WorkerPoolDefinition.RetryDelay"/> up to <see cref="WorkerPoolDefinition.MaxRetryDelay"/>. The reason is at most
/// <paramref name="maxReasonLength"/> characters (<see cref="AppRuntimeOptions.MaxReasonLength"/>): a handler's exception message
/// may quote a whole email, and the reason is stored with the dead letter, shown in traces and logged.
/// </summary>
internal sealed class SettlementPolicy(TimeSpan retryDelay, TimeSpan maxRetryDelay, int maxReasonLength = TextLimits.DefaultMaxReasonLength)
{
    public SettlementPolicy(WorkerPoolDefinition pool, int maxReasonLength)
        : this(pool.RetryDelay, pool.MaxRetryDelay, maxReasonLength)
    {
    }

    /// <param name="failure">What the handler threw.</param>
    /// <param name="attempt">The delivery attempt that failed (1 for the first).</param>
    /// <param name="stopping">True when the runtime is cancelling handlers because it stops.</param>
    public Settlement OnFailure(Exception failure, int attempt, bool stopping)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure switch
        {
            OperationCanceledException when stopping => new Settlement(SettlementKind.Release),
            PermanentTaskException or TaskDeserializationException => new Settlement(SettlementKind.DeadLetter, Reason: Describe(failure, maxReasonLength)),
            RetryTaskException { RetryAfter: { } after } => new Settlement(SettlementKind.Retry, after, Describe(failure, maxReasonLength)),
            _ => new Settlement(SettlementKind.Retry, Backoff.Exponential(retryDelay, maxRetryDelay, attempt), Describe(failure, maxReasonLength)),
        };
    }

    /// <summary>The failure as it is shown in dead letters, traces and logs: <c>Type: message</c>, cut at <paramref name="maxLength"/>.</summary>
    public static string Describe(Exception failure, int maxLength = TextLimits.DefaultMaxReasonLength) =>
        TextLimits.Truncate($"{failure.GetType().Name}: {failure.Message}", maxLength);
}
