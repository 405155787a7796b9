namespace AppRuntime.Internal;

/// <summary>Creates the declared queues with their backends when the runtime starts and hands them out by name.</summary>
internal sealed class QueueManager(RuntimeServices services) : IAsyncDisposable
{
    private readonly Dictionary<string, ITaskQueue> _queues = new(StringComparer.Ordinal);
    private readonly HashSet<string> _durable = new(StringComparer.Ordinal);
    private volatile bool _created;

    public RuntimeServices Services { get; } = services;

    public IReadOnlyCollection<ITaskQueue> All
    {
        get
        {
            lock (_queues)
                return [.. _queues.Values.OrderBy(q => q.Name, StringComparer.Ordinal)];
        }
    }

    public bool TryGet(string name, out ITaskQueue queue)
    {
        lock (_queues)
            return _queues.TryGetValue(name, out queue!);
    }

    public ITaskQueue<T> Get<T>(string name)
    {
        if (!_created)
            throw new InvalidOperationException($"Queue '{name}' is not available yet: the runtime has not started its queues.");
        if (!TryGet(name, out var queue))
            throw new UnknownComponentException("queue", name);
        return queue as ITaskQueue<T> ?? throw new InvalidOperationException($"Queue '{name}' carries {queue.TaskType}, not {typeof(T).Name}.");
    }

    /// <summary>Creates the planned queues, each on its chosen backend.</summary>
    public void CreateAll(RuntimePlan plan)
    {
        lock (_queues)
        {
            foreach (var queue in plan.Queues)
            {
                if (_queues.ContainsKey(queue.Definition.Name))
                    continue;
                _queues[queue.Definition.Name] = queue.Registration.CreateQueue(queue.Definition, queue.Backend);
                if (queue.Backend.IsDurable)
                    _durable.Add(queue.Definition.Name);
            }
        }
        _created = true;
    }

    /// <summary>
    /// Disposes the durable queues, once the workers stopped: a durable queue gives back the tasks it leased ahead and leaves
    /// the consumers other processes see. In-memory queues hold nothing another process can see; they stay readable until the
    /// host is disposed (<see cref="DisposeAsync"/>).
    /// </summary>
    public ValueTask CloseDurableQueuesAsync() => DisposeWhereAsync(name => _durable.Contains(name));

    /// <summary>Disposes every queue that is still open.</summary>
    public ValueTask DisposeAsync() => DisposeWhereAsync(_ => true);

    private async ValueTask DisposeWhereAsync(Func<string, bool> which)
    {
        ITaskQueue[] queues;
        lock (_queues)
        {
            queues = [.. _queues.Values.Where(q => which(q.Name))];
            foreach (var q in queues)
                _queues.Remove(q.Name);
        }
        foreach (var q in queues)
        {
            if (q is IAsyncDisposable d)
                await d.DisposeAsync().ConfigureAwait(false);
            else if (q is IDisposable s)
                s.Dispose();
        }
    }
}
