namespace AppRuntime.Testing.Internal;

/// <summary>
/// The harness's queue backend: in-memory queues on the fake clock that record every outcome. Registered under
/// <c>InMemory</c> and under every durable backend name the harness stands in for; such a stand-in is durable, so the runtime
/// asks for a task serializer as it would in production, and every payload goes through that serializer once.
/// </summary>
internal sealed class RecordingBackend(string name, bool durable, TimeProvider time, TaskJournal journal) : ITaskQueueBackend
{
    private readonly InMemoryQueueBackend _inner = new(time);

    public string Name { get; } = name;

    public bool IsDurable { get; } = durable;

    public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer) =>
        new RecordingQueue<T>(_inner.Create(definition, serializer), Name, IsDurable ? serializer : null, journal);
}
