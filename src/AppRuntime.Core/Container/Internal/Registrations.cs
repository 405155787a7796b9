using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Internal;

/// <summary>Everything modules declared, collected at registration and validated when the runtime starts.</summary>
internal sealed class RuntimeRegistry
{
    public List<ModuleTopology> Modules { get; } = [];
    public Dictionary<string, QueueRegistration> Queues { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, WorkerPoolDefinition> Pools { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, HandlerRegistration> Handlers { get; } = new(StringComparer.Ordinal);
    public List<SourceRegistration> Sources { get; } = [];
    public List<ObserverRegistration> Observers { get; } = [];
    public List<ConfigSectionRegistration> ConfigSections { get; } = [];
    public List<Func<IServiceProvider, IHealthContributor>> HealthContributors { get; } = [];
    public List<string> RegistrationErrors { get; } = [];

    /// <summary>Checks the wiring and returns every problem found, each naming the queue, source or handler.</summary>
    public List<string> Validate()
    {
        var errors = new List<string>(RegistrationErrors);
        foreach (var (queue, handler) in Handlers)
        {
            if (!Queues.TryGetValue(queue, out var q))
                errors.Add($"Handler {handler.DisplayName} is registered for queue '{queue}', which is not declared.");
            else if (!q.Accepts(handler))
                errors.Add($"Handler {handler.DisplayName} handles {handler.TaskTypeName}, but queue '{queue}' carries {q.Definition.TaskType}.");
        }
        foreach (var (queue, _) in Pools)
        {
            if (!Queues.ContainsKey(queue))
                errors.Add($"Worker pool '{queue}' consumes a queue that is not declared.");
            else if (!Handlers.ContainsKey(queue))
                errors.Add($"Worker pool '{queue}' has no handler: register one with AddHandler<T>(\"{queue}\", ...).");
        }
        var sourceNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in Sources)
        {
            if (!sourceNames.Add(source.Definition.Name))
                errors.Add($"Two sources are named '{source.Definition.Name}'.");
            if (!Queues.TryGetValue(source.Definition.Queue, out var q))
                errors.Add($"Source '{source.Definition.Name}' publishes to queue '{source.Definition.Queue}', which is not declared.");
            else if (!q.Accepts(source))
                errors.Add($"Source '{source.Definition.Name}' produces {source.TaskTypeName}, but queue '{source.Definition.Queue}' carries {q.Definition.TaskType}.");
        }
        foreach (var observer in Observers)
        {
            if (!Queues.TryGetValue(observer.Queue, out var q))
                errors.Add($"An outcome observer is registered for queue '{observer.Queue}', which is not declared.");
            else if (!q.Accepts(observer))
                errors.Add($"An outcome observer of {observer.TaskTypeName} is registered for queue '{observer.Queue}', which carries {q.Definition.TaskType}.");
        }
        return errors;
    }
}

/// <summary>A typed item registered for a queue; the queue checks the type without reflection.</summary>
internal abstract class TypedRegistration
{
    public abstract string TaskTypeName { get; }

    /// <summary>True when the registration's task type is the queue's.</summary>
    public abstract bool Matches(QueueRegistration queue);
}

internal abstract class QueueRegistration
{
    protected QueueRegistration(QueueDefinition definition) => Definition = definition;

    /// <summary>The queue as declared (the runtime's plan merges the pool's settings into a copy).</summary>
    public QueueDefinition Definition { get; }

    public abstract bool Accepts(TypedRegistration registration);

    /// <summary>Creates the queue as <paramref name="definition"/> (the planned one) says, on the chosen backend.</summary>
    public abstract ITaskQueue CreateQueue(QueueDefinition definition, ITaskQueueBackend backend);

    /// <summary>Creates the worker pool for this queue.</summary>
    public abstract IRuntimePool CreatePool(ITaskQueue queue, WorkerPoolDefinition pool, HandlerRegistration handler, IEnumerable<ObserverRegistration> observers, RuntimeServices services);

    /// <summary>Creates the runner of a source publishing into this queue.</summary>
    public abstract IRuntimeSource CreateSource(ITaskQueue queue, SourceRegistration source, RuntimeServices services);

    public abstract bool HasSerializer { get; }
}

internal sealed class QueueRegistration<T>(QueueDefinition definition, TaskSerializer<T>? serializer) : QueueRegistration(definition)
{
    public TaskSerializer<T>? Serializer { get; } = serializer;

    public override bool HasSerializer => Serializer is not null;

    public override bool Accepts(TypedRegistration registration) => registration.Matches(this);

    public override ITaskQueue CreateQueue(QueueDefinition definition, ITaskQueueBackend backend)
    {
        definition.Validate();
        if (backend.IsDurable && Serializer is null)
            throw new InvalidOperationException($"Queue '{definition.Name}' uses the durable backend '{backend.Name}' but has no serializer for {typeof(T).Name}; declare the queue through the generator or pass a TaskSerializer<{typeof(T).Name}>.");
        // The in-memory backend directly: a generic interface call is resolved at run time in native AOT (docs/benchmarks.md).
        return backend is InMemoryQueueBackend memory ? memory.CreateDirect<T>(definition) : backend.Create(definition, Serializer);
    }

    public override IRuntimePool CreatePool(ITaskQueue queue, WorkerPoolDefinition pool, HandlerRegistration handler, IEnumerable<ObserverRegistration> observers, RuntimeServices services)
    {
        var typedObservers = new List<Func<IServiceProvider, ITaskOutcomeObserver<T>>>();
        foreach (var o in observers)
            typedObservers.Add(((ObserverRegistration<T>)o).Factory);
        return new WorkerPool<T>((ITaskQueue<T>)queue, pool, ((HandlerRegistration<T>)handler).Factory, typedObservers, services);
    }

    public override IRuntimeSource CreateSource(ITaskQueue queue, SourceRegistration source, RuntimeServices services) =>
        new SourceRunner<T>((ITaskQueue<T>)queue, (SourceRegistration<T>)source, services);
}

internal abstract class HandlerRegistration : TypedRegistration
{
    public abstract string DisplayName { get; }
}

internal sealed class HandlerRegistration<T>(Func<IServiceProvider, ITaskHandler<T>> factory) : HandlerRegistration
{
    public Func<IServiceProvider, ITaskHandler<T>> Factory { get; } = factory;

    public override string DisplayName => $"of {typeof(T).Name}";

    public override string TaskTypeName => typeof(T).Name;

    public override bool Matches(QueueRegistration queue) => queue is QueueRegistration<T>;
}

internal abstract class SourceRegistration(SourceDefinition definition) : TypedRegistration
{
    public SourceDefinition Definition { get; } = definition;
}

internal sealed class SourceRegistration<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) : SourceRegistration(definition)
{
    public Func<IServiceProvider, ITaskSource<T>> Factory { get; } = factory;

    public override string TaskTypeName => typeof(T).Name;

    public override bool Matches(QueueRegistration queue) => queue is QueueRegistration<T>;
}

internal abstract class ObserverRegistration(string queue) : TypedRegistration
{
    public string Queue { get; } = queue;
}

internal sealed class ObserverRegistration<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) : ObserverRegistration(queue)
{
    public Func<IServiceProvider, ITaskOutcomeObserver<T>> Factory { get; } = factory;

    public override string TaskTypeName => typeof(T).Name;

    public override bool Matches(QueueRegistration queue) => queue is QueueRegistration<T>;
}

internal abstract class ConfigSectionRegistration
{
    public abstract string Path { get; }

    public abstract IReadOnlyList<string> SecretKeys { get; }

    /// <summary>Binds a candidate value from <paramref name="configuration"/>, adding every problem to <paramref name="errors"/>.</summary>
    public abstract object? Bind(Microsoft.Extensions.Configuration.IConfiguration configuration, ConfigErrors errors);

    public abstract ConfigurationManager.ISectionHolder CreateHolder(object value);

    public abstract void RegisterServices(IServiceCollection services);
}
