using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AppRuntime.Internal;

/// <summary>The registration API behind generated module code (seed: ServiceContainer's input). Explicit factories only.</summary>
internal sealed class AppRuntimeBuilder(IServiceCollection services, IConfiguration configuration, RuntimeRegistry registry) : IAppRuntimeBuilder
{
    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;

    public RuntimeRegistry Registry { get; } = registry;

    public bool AddModule(ModuleTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (Registry.Modules.Any(m => m.Module == topology.Module))
            return false;
        Registry.Modules.Add(topology);
        return true;
    }

    public IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null) => AddQueueDirect(definition, serializer);

    /// <summary>The same as the interface method, called without a generic virtual call (<see cref="AppRuntimeRegistration"/>).</summary>
    internal AppRuntimeBuilder AddQueueDirect<T>(QueueDefinition definition, TaskSerializer<T>? serializer)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        if (!Registry.Queues.TryAdd(definition.Name, new QueueRegistration<T>(definition, serializer)))
        {
            Registry.RegistrationErrors.Add($"Two queues are named '{definition.Name}'.");
            return this;
        }
        var name = definition.Name;
        Services.TryAddSingleton<ITaskPublisher<T>>(sp => new TaskPublisher<T>(sp.GetRequiredService<QueueManager>(), name));
        return this;
    }

    public IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        if (!Registry.Pools.TryAdd(definition.Queue, definition))
            Registry.RegistrationErrors.Add($"Two worker pools are declared for queue '{definition.Queue}'.");
        return this;
    }

    public IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory) => AddHandlerDirect(queue, factory);

    /// <summary>The same as the interface method, called without a generic virtual call (<see cref="AppRuntimeRegistration"/>).</summary>
    internal AppRuntimeBuilder AddHandlerDirect<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        NameValidation.ThrowIfInvalid(queue, "queue");
        if (!Registry.Handlers.TryAdd(queue, new HandlerRegistration<T>(factory)))
            Registry.RegistrationErrors.Add($"Two handlers are registered for queue '{queue}'.");
        return this;
    }

    public IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) => AddSourceDirect(definition, factory);

    /// <summary>The same as the interface method, called without a generic virtual call (<see cref="AppRuntimeRegistration"/>).</summary>
    internal AppRuntimeBuilder AddSourceDirect<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(factory);
        NameValidation.ThrowIfInvalid(definition.Name, "source");
        NameValidation.ThrowIfInvalid(definition.Queue, "queue");
        Registry.Sources.Add(new SourceRegistration<T>(definition, factory));
        return this;
    }

    public IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) => AddOutcomeObserverDirect(queue, factory);

    /// <summary>The same as the interface method, called without a generic virtual call (<see cref="AppRuntimeRegistration"/>).</summary>
    internal AppRuntimeBuilder AddOutcomeObserverDirect<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registry.Observers.Add(new ObserverRegistration<T>(queue, factory));
        return this;
    }

    public IAppRuntimeBuilder AddConfigSection<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(ConfigSectionDefinition<T> definition) where T : class =>
        AddConfigSectionDirect(definition);

    /// <summary>The same as the interface method, called without a generic virtual call (<see cref="AppRuntimeRegistration"/>).</summary>
    internal AppRuntimeBuilder AddConfigSectionDirect<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(ConfigSectionDefinition<T> definition) where T : class
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (Registry.ConfigSections.Any(s => string.Equals(s.Path, definition.Path, StringComparison.OrdinalIgnoreCase)))
            return this;
        var registration = new ConfigSectionRegistration<T>(definition);
        Registry.ConfigSections.Add(registration);
        registration.RegisterServices(Services);
        return this;
    }

    public IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Registry.HealthContributors.Add(factory);
        return this;
    }

    public IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        if (Configuration is not IConfigurationBuilder builder)
            throw new InvalidOperationException($"Configuration provider '{provider.Name}' cannot be added: the configuration is not a builder (use Host.CreateApplicationBuilder).");
        ConfigLayering.Insert(builder, provider.CreateSource(), provider.Layer);
        return this;
    }
}
