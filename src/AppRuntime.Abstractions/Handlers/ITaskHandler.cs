namespace AppRuntime;

/// <summary>
/// Business logic for one task. Return normally to have the task acked; throw to have it retried
/// (<see cref="RetryTaskException"/> sets the delay) or dead-lettered at once (<see cref="PermanentTaskException"/>).
/// A handler instance is created for every task. Its scoped and transient dependencies come from a fresh DI scope per task,
/// disposed when the handler returns; singletons come from the root provider (a handler that needs only singletons runs
/// without a scope).
/// </summary>
/// <typeparam name="T">The task type of the handler's queue.</typeparam>
public interface ITaskHandler<in T>
{
    /// <summary>Processes one task.</summary>
    ValueTask HandleAsync(T task, TaskContext context, CancellationToken cancellationToken);
}

/// <summary>What a handler knows about the task it processes.</summary>
public sealed class TaskContext
{
    /// <summary>Creates a context. Called by the runtime.</summary>
    public TaskContext(string queue, string taskId, int attempt, int maxAttempts, DateTimeOffset enqueuedAt,
        IReadOnlyDictionary<string, string> headers, IServiceProvider services)
    {
        Queue = queue;
        TaskId = taskId;
        Attempt = attempt;
        MaxAttempts = maxAttempts;
        EnqueuedAt = enqueuedAt;
        Headers = headers;
        Services = services;
    }

    /// <summary>The queue the task came from.</summary>
    public string Queue { get; }

    /// <summary>The task id.</summary>
    public string TaskId { get; }

    /// <summary>This delivery's number, starting at 1.</summary>
    public int Attempt { get; }

    /// <summary>The attempt at which a failure dead-letters the task.</summary>
    public int MaxAttempts { get; }

    /// <summary>True on the last attempt before the task would be dead-lettered.</summary>
    public bool IsLastAttempt => Attempt >= MaxAttempts;

    /// <summary>When the task was first published.</summary>
    public DateTimeOffset EnqueuedAt { get; }

    /// <summary>The task's headers.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>
    /// The task's services: singletons from the root provider; anything else from the task's DI scope, opened on first use and
    /// disposed when the handler returns. Valid only while the handler runs.
    /// </summary>
    public IServiceProvider Services { get; }
}

/// <summary>Thrown by a handler for a failure that no retry can fix: the task is dead-lettered at once.</summary>
public class PermanentTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PermanentTaskException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public PermanentTaskException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public PermanentTaskException() { }
}

/// <summary>Thrown by a handler for a transient failure, optionally with the delay before the next attempt.</summary>
public class RetryTaskException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RetryTaskException(string message, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException) => RetryAfter = retryAfter;

    /// <summary>Creates the exception.</summary>
    public RetryTaskException() { }

    /// <summary>Creates the exception.</summary>
    public RetryTaskException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public RetryTaskException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>The delay before the next attempt; null uses the pool's backoff.</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary>
/// Told how each task of a queue ended. A source implements it to complete the work at its origin
/// (for example mark an email read after success), and the runtime calls it after the queue settled the task.
/// </summary>
/// <remarks>
/// Calls may overlap, for tasks of different workers and for consecutive tasks of one worker (a worker takes its next task
/// while the settlement of its last one, observers included, is still in flight), and may end in any order: an implementation
/// must be safe to call concurrently.
/// </remarks>
/// <typeparam name="T">The task type.</typeparam>
public interface ITaskOutcomeObserver<T>
{
    /// <summary>The handler succeeded and the task was acked.</summary>
    ValueTask OnSucceededAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken);

    /// <summary>The task failed for good and was dead-lettered with <paramref name="reason"/>.</summary>
    ValueTask OnDeadLetteredAsync(TaskEnvelope<T> envelope, string reason, CancellationToken cancellationToken);
}
