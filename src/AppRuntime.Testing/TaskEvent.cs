namespace AppRuntime.Testing;

/// <summary>What happened to a task, as the harness's queues recorded it.</summary>
public enum TaskEventKind
{
    /// <summary>Published into the queue (by a source, a publisher, a handler passing work on, or the test).</summary>
    Published,

    /// <summary>Its handler returned and the task was acked.</summary>
    Handled,

    /// <summary>Its handler failed and the task will be delivered again (after <see cref="TaskEvent.RetryDelay"/>).</summary>
    Retried,

    /// <summary>The task was dead-lettered: a permanent failure, or the last attempt failed.</summary>
    DeadLettered,

    /// <summary>Given back to the queue without counting the attempt (the runtime stopped while the handler ran).</summary>
    Released,
}

/// <summary>One recorded event of one task.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Queue">The queue.</param>
/// <param name="TaskId">The task id.</param>
/// <param name="Payload">The task.</param>
/// <param name="Attempt">The delivery it happened on (0 for <see cref="TaskEventKind.Published"/>).</param>
/// <param name="Error">The failure (retried, dead-lettered), else null.</param>
/// <param name="RetryDelay">The delay before the next delivery (retried), else null.</param>
/// <param name="At">When, on the harness's clock.</param>
public sealed record TaskEvent(TaskEventKind Kind, string Queue, string TaskId, object? Payload, int Attempt, string? Error, TimeSpan? RetryDelay, DateTimeOffset At);

/// <summary>A task and how one delivery of it ended.</summary>
/// <typeparam name="T">The task type.</typeparam>
/// <param name="TaskId">The task id.</param>
/// <param name="Payload">The task.</param>
/// <param name="Attempt">The delivery (1 for the first).</param>
/// <param name="Error">The failure, for a retried or dead-lettered delivery.</param>
public sealed record TaskRecord<T>(string TaskId, T Payload, int Attempt, string? Error);
