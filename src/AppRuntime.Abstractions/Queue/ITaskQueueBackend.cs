namespace AppRuntime;

/// <summary>Creates queues of one backend kind (InMemory, Redis, ...). Registered in DI; chosen per queue by name.</summary>
public interface ITaskQueueBackend
{
    /// <summary>The backend name used in configuration, e.g. <c>InMemory</c>.</summary>
    string Name { get; }

    /// <summary>True when tasks survive the process (the backend needs a <see cref="TaskSerializer{T}"/>).</summary>
    bool IsDurable { get; }

    /// <summary>Creates the queue described by <paramref name="definition"/>.</summary>
    ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer);
}
