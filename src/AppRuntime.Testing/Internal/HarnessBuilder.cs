using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Testing.Internal;

/// <summary>
/// The builder the test's composition (the generated <c>Add&lt;Module&gt;()</c>) talks to: everything goes to the runtime's builder,
/// but sources are wrapped so the harness sees them catch up (or left out, with their outcome observers, when sources do not run),
/// and the backends queues pin are noted so the harness can stand in for them.
/// </summary>
internal sealed class HarnessBuilder(IAppRuntimeBuilder inner, bool runSources, TaskJournal journal) : IAppRuntimeBuilder
{
    public List<SourceState> Sources { get; } = [];

    public HashSet<string> PinnedBackends { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<(string Name, string TaskType)> Queues { get; } = [];

    public IServiceCollection Services => inner.Services;

    public IConfiguration Configuration => inner.Configuration;

    public bool AddModule(ModuleTopology topology) => inner.AddModule(topology);

    public IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (definition.Backend is { } backend)
            PinnedBackends.Add(backend);
        Queues.Add((definition.Name, definition.TaskType));
        inner.AddQueue(definition, serializer);
        return this;
    }

    public IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition)
    {
        inner.AddWorkerPool(definition);
        return this;
    }

    public IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory)
    {
        inner.AddHandler(queue, factory);
        return this;
    }

    public IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(factory);
        if (!runSources)
            return this;
        var state = new SourceState(definition.Name);
        Sources.Add(state);
        inner.AddSource(definition, sp => new ObservedSource<T>(factory(sp), state, journal));
        return this;
    }

    public IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory)
    {
        // Generated code registers a source as the observer of its queue; a source that does not run observes nothing.
        if (runSources)
            inner.AddOutcomeObserver(queue, factory);
        return this;
    }

    public IAppRuntimeBuilder AddConfigSection<[System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(
        ConfigSectionDefinition<T> definition) where T : class
    {
        inner.AddConfigSection(definition);
        return this;
    }

    public IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory)
    {
        inner.AddHealthContributor(factory);
        return this;
    }

    public IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider)
    {
        inner.AddConfigProvider(provider);
        return this;
    }
}
