using Microsoft.Extensions.Configuration;

namespace AppRuntime.Internal;

/// <summary>Creates the declared queues with their backends when the runtime starts and hands them out by name.</summary>
internal sealed class QueueManager(RuntimeServices services, IEnumerable<ITaskQueueBackend> backends, IConfiguration configuration)
{
    private readonly Dictionary<string, ITaskQueue> _queues = new(StringComparer.Ordinal);
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

    /// <summary>Chooses each queue's backend and collects every problem with its configuration key.</summary>
    public Dictionary<string, ITaskQueueBackend> ResolveBackends(RuntimeRegistry registry, ConfigErrors errors)
    {
        var byName = new Dictionary<string, ITaskQueueBackend>(StringComparer.OrdinalIgnoreCase);
        foreach (var b in backends)
            byName[b.Name] = b;
        var chosen = new Dictionary<string, ITaskQueueBackend>(StringComparer.Ordinal);
        foreach (var (name, reg) in registry.Queues)
        {
            var key = $"AppRuntime:Queues:{name}:Backend";
            var backendName = reg.Definition.Backend ?? configuration[key] ?? Services.Options.DefaultBackend;
            if (!byName.TryGetValue(backendName, out var backend))
            {
                errors.Add(reg.Definition.Backend is null ? key : $"queue '{name}'",
                    $"unknown queue backend '{backendName}'; registered backends: {string.Join(", ", byName.Keys.Order(StringComparer.Ordinal))}" +
                    (backendName.Equals("Redis", StringComparison.OrdinalIgnoreCase) ? " (add the Redis adapter with AddRedisQueues())" : ""));
                continue;
            }
            if (backend.IsDurable && !reg.HasSerializer)
            {
                errors.Add(key, $"queue '{name}' uses the durable backend '{backend.Name}' but has no task serializer for {reg.Definition.TaskType}");
                continue;
            }
            chosen[name] = backend;
        }
        return chosen;
    }

    public void CreateAll(RuntimeRegistry registry, Dictionary<string, ITaskQueueBackend> backends)
    {
        lock (_queues)
        {
            foreach (var (name, reg) in registry.Queues)
            {
                if (_queues.ContainsKey(name))
                    continue;
                if (registry.Pools.TryGetValue(name, out var pool) && pool.MaxAttempts is { } max)
                    reg.Definition = reg.Definition with { MaxAttempts = max };
                reg.Definition.Validate();
                _queues[name] = reg.CreateQueue(backends[name]);
            }
        }
        _created = true;
    }

    public async ValueTask DisposeQueuesAsync()
    {
        ITaskQueue[] queues;
        lock (_queues)
            queues = [.. _queues.Values];
        foreach (var q in queues)
        {
            if (q is IAsyncDisposable d)
                await d.DisposeAsync().ConfigureAwait(false);
            else if (q is IDisposable s)
                s.Dispose();
        }
    }
}
