using Microsoft.Extensions.DependencyInjection;

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
/// <remarks>
/// A context the runtime creates is also the task's service provider (<see cref="Services"/> returns the context itself), so a
/// delivery allocates one object for both. It refers to the delivered envelope, payload included: like <see cref="Services"/>,
/// it is meant for the time the handler runs, not to be kept after it returned.
/// </remarks>
public sealed class TaskContext : IServiceProvider, IKeyedServiceProvider
{
    private readonly TaskContextSource _source;
    private readonly ITaskFacts _facts;
    private IServiceScope? _scope;

    /// <summary>Creates a context. Called by the runtime, and by tests that call a handler directly.</summary>
    public TaskContext(string queue, string taskId, int attempt, int maxAttempts, DateTimeOffset enqueuedAt,
        IReadOnlyDictionary<string, string> headers, IServiceProvider services)
    {
        var given = new GivenContext(queue, taskId, attempt, maxAttempts, enqueuedAt, headers, services);
        _source = given;
        _facts = given;
    }

    /// <summary>A context whose queue-wide facts and services come from <paramref name="source"/>, and the task's from <paramref name="facts"/> (its envelope).</summary>
    internal TaskContext(TaskContextSource source, ITaskFacts facts)
    {
        _source = source;
        _facts = facts;
    }

    /// <summary>The queue the task came from.</summary>
    public string Queue => _source.Queue;

    /// <summary>The task id.</summary>
    public string TaskId => _facts.Id;

    /// <summary>This delivery's number, starting at 1.</summary>
    public int Attempt => _facts.Attempt;

    /// <summary>The attempt at which a failure dead-letters the task.</summary>
    public int MaxAttempts => _source.MaxAttempts;

    /// <summary>True on the last attempt before the task would be dead-lettered.</summary>
    public bool IsLastAttempt => Attempt >= MaxAttempts;

    /// <summary>When the task was first published.</summary>
    public DateTimeOffset EnqueuedAt => _facts.EnqueuedAt;

    /// <summary>The task's headers.</summary>
    public IReadOnlyDictionary<string, string> Headers => _facts.Headers;

    /// <summary>
    /// The task's services: singletons from the root provider; anything else from the task's DI scope, opened on first use and
    /// disposed when the handler returns. Valid only while the handler runs.
    /// </summary>
    public IServiceProvider Services => _source.ServicesOf(this);

    /// <summary>The task's DI scope, which the runtime's <see cref="TaskContextSource"/> opens on first use and disposes.</summary>
    internal ref IServiceScope? Scope => ref _scope;

    object? IServiceProvider.GetService(Type serviceType) => _source.GetService(this, serviceType);

    object? IKeyedServiceProvider.GetKeyedService(Type serviceType, object? serviceKey) => _source.Keyed(this).GetKeyedService(serviceType, serviceKey);

    object IKeyedServiceProvider.GetRequiredKeyedService(Type serviceType, object? serviceKey)
        => _source.Keyed(this).GetRequiredKeyedService(serviceType, serviceKey);

    /// <summary>A context built from given values (the public constructor): its services are the provider it was given.</summary>
    private sealed class GivenContext(string queue, string taskId, int attempt, int maxAttempts, DateTimeOffset enqueuedAt,
        IReadOnlyDictionary<string, string> headers, IServiceProvider services) : TaskContextSource, ITaskFacts
    {
        public override string Queue { get; } = queue;
        public override int MaxAttempts { get; } = maxAttempts;
        public string Id { get; } = taskId;
        public int Attempt { get; } = attempt;
        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;
        public IReadOnlyDictionary<string, string> Headers { get; } = headers;

        public override IServiceProvider ServicesOf(TaskContext context) => services;

        public override object? GetService(TaskContext context, Type serviceType) => services.GetService(serviceType);

        public override IKeyedServiceProvider Keyed(TaskContext context) => AsKeyed(services);
    }
}

/// <summary>
/// What the tasks of one queue share, and how their services are resolved: the runtime's implementation opens a task's DI scope
/// lazily and keeps it in <see cref="TaskContext.Scope"/>.
/// </summary>
internal abstract class TaskContextSource
{
    public abstract string Queue { get; }

    public abstract int MaxAttempts { get; }

    /// <summary>What <see cref="TaskContext.Services"/> returns for <paramref name="context"/>.</summary>
    public abstract IServiceProvider ServicesOf(TaskContext context);

    public abstract object? GetService(TaskContext context, Type serviceType);

    /// <summary>Where the keyed services of <paramref name="context"/>'s task come from.</summary>
    public abstract IKeyedServiceProvider Keyed(TaskContext context);

    protected static IKeyedServiceProvider AsKeyed(IServiceProvider services) => services as IKeyedServiceProvider
        ?? throw new InvalidOperationException("The task's service provider does not support keyed services.");
}

/// <summary>The facts of one delivery a <see cref="TaskContext"/> reports (an envelope has them all).</summary>
internal interface ITaskFacts
{
    string Id { get; }

    int Attempt { get; }

    DateTimeOffset EnqueuedAt { get; }

    IReadOnlyDictionary<string, string> Headers { get; }
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
