namespace AppRuntime.Internal;

/// <summary>Creates the Redis backend (and so the connection) on first use.</summary>
internal sealed class RedisBackendHandle(Func<RedisQueueBackend> create)
{
    private readonly Lazy<RedisQueueBackend> _backend = new(create, LazyThreadSafetyMode.ExecutionAndPublication);

    public bool IsCreated => _backend.IsValueCreated;

    public RedisQueueBackend Backend => _backend.Value;
}

/// <summary>The <c>Redis</c> entry among the queue backends; it connects only when a queue is created on it.</summary>
internal sealed class DeferredRedisBackend(RedisBackendHandle handle) : ITaskQueueBackend
{
    public string Name => RedisQueueBackend.BackendName;

    public bool IsDurable => true;

    public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer) => handle.Backend.Create(definition, serializer);
}
