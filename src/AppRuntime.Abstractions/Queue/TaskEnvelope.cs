namespace AppRuntime;

/// <summary>
/// A task as it travels through a queue: the payload plus the metadata every backend keeps with it.
/// Envelopes are immutable to their users; a backend produces a new one (for example with a higher <see cref="Attempt"/>) on
/// redelivery. (The one exception is internal: the in-memory queue counts the first delivery on an envelope the runtime created
/// for the publish and nobody else holds, before it hands the envelope to anyone.)
/// </summary>
/// <typeparam name="T">The task type carried by the queue.</typeparam>
public sealed record TaskEnvelope<T> : ITaskFacts
{
    /// <summary>Creates an envelope.</summary>
    public TaskEnvelope(string id, string taskType, T payload, DateTimeOffset enqueuedAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentException.ThrowIfNullOrEmpty(taskType);
        Id = id;
        TaskType = taskType;
        Payload = payload;
        EnqueuedAt = enqueuedAt;
    }

    /// <summary>Unique id of the task (an idempotency key where the producer has one).</summary>
    public string Id { get; init; }

    /// <summary>The logical task type name, as declared on the queue.</summary>
    public string TaskType { get; init; }

    /// <summary>The task itself.</summary>
    public T Payload { get; init; }

    private int _attempt;

    /// <summary>How many times the task has been delivered to a consumer: 0 before the first delivery, 1 during it.</summary>
    public int Attempt
    {
        get => _attempt;
        init => _attempt = value;
    }

    /// <summary>When the task was first published.</summary>
    public DateTimeOffset EnqueuedAt { get; init; }

    // NotBefore is kept as UTC ticks and a flag, which the runtime packs beside the attempt: a DateTimeOffset? field would make
    // every envelope 16 bytes larger.
    private long _notBeforeUtcTicks;
    private bool _hasNotBefore;

    /// <summary>
    /// The task is not delivered before this time (set by a delayed publish or a nack with a retry delay). Kept in UTC: a value
    /// with another offset reads back as the same instant with offset zero.
    /// </summary>
    public DateTimeOffset? NotBefore
    {
        get => _hasNotBefore ? new DateTimeOffset(_notBeforeUtcTicks, TimeSpan.Zero) : null;
        init
        {
            _hasNotBefore = value.HasValue;
            _notBeforeUtcTicks = value.GetValueOrDefault().UtcTicks;
        }
    }

    /// <summary>Headers that travel with the task, such as the W3C <c>traceparent</c>.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = TaskHeaders.Empty;

    /// <summary>The last error recorded for the task (set when it was nacked), if any.</summary>
    public string? LastError { get; init; }

    /// <summary>
    /// Counts the first delivery on this very envelope instead of a copy. Only for a backend that holds the one reference to an
    /// envelope the runtime itself created for the publish (nobody else can see the change); every other delivery copies.
    /// </summary>
    internal void MarkFirstDelivery() => _attempt = 1;
}

/// <summary>Well-known header names and helpers.</summary>
public static class TaskHeaders
{
    /// <summary>An empty, shared header set.</summary>
    public static IReadOnlyDictionary<string, string> Empty { get; } = new Dictionary<string, string>(0, StringComparer.Ordinal);

    /// <summary>W3C trace context parent header.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>W3C trace context state header.</summary>
    public const string TraceState = "tracestate";

    /// <summary>The name of the source that produced the task.</summary>
    public const string Source = "appruntime-source";
}
