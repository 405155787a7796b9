using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// The in-process queue backend: bounded queues with backpressure, leases, delayed delivery and dead letters, held in memory
/// (tasks are lost when the process ends). Time comes only from the injected <see cref="TimeProvider"/>, so a fake time
/// provider drives lease expiry and retry delays deterministically in tests.
/// </summary>
/// <remarks>
/// The queues it creates implement <see cref="IAsyncDisposable"/>. Disposing one fails waiting publishers and consumers (and
/// every later publish or consume) with <see cref="ObjectDisposedException"/>. Dead letters moved back with
/// <see cref="ITaskQueue.RetryDeadLettersAsync"/> do not wait for capacity, so a queue may briefly hold more than its capacity.
/// </remarks>
public sealed class InMemoryQueueBackend : ITaskQueueBackend
{
    /// <summary>The backend name used in configuration: <c>InMemory</c>.</summary>
    public const string BackendName = "InMemory";

    private readonly TimeProvider _timeProvider;

    /// <summary>Creates the backend.</summary>
    /// <param name="timeProvider">The clock and timer source for leases and delays.</param>
    public InMemoryQueueBackend(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
    }

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public bool IsDurable => false;

    /// <inheritdoc />
    /// <remarks>The serializer is not used: payloads stay objects. The definition is validated first.</remarks>
    public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer) => CreateDirect<T>(definition);

    /// <summary><see cref="Create{T}"/> without a generic virtual call (resolved at run time in native AOT, the first time per type).</summary>
    internal InMemoryTaskQueue<T> CreateDirect<T>(QueueDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new InMemoryTaskQueue<T>(definition, _timeProvider);
    }
}
