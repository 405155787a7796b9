using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime;

/// <summary>
/// The registration API that generated module code calls (and tests call by hand). Every component is
/// registered with an explicit factory: the runtime never activates a type by reflection.
/// </summary>
public interface IAppRuntimeBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }

    /// <summary>The application's configuration.</summary>
    IConfiguration Configuration { get; }

    /// <summary>Records a module and its topology. Adding the same module twice is ignored.</summary>
    /// <returns>False when the module was already added.</returns>
    bool AddModule(ModuleTopology topology);

    /// <summary>Declares a queue. <paramref name="serializer"/> is required for durable backends.</summary>
    IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null);

    /// <summary>Declares the worker pool of a queue.</summary>
    IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition);

    /// <summary>Declares the handler of a queue. The factory runs in the task's DI scope, once per task.</summary>
    IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory);

    /// <summary>Declares a source publishing into a queue. The factory runs once, from the root provider.</summary>
    IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory);

    /// <summary>Declares an observer told how each task of a queue ended.</summary>
    IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory);

    /// <summary>Declares a typed configuration section; it is validated at start and on every reload.</summary>
    IAppRuntimeBuilder AddConfigSection<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(ConfigSectionDefinition<T> definition) where T : class;

    /// <summary>Adds a health contributor.</summary>
    IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory);

    /// <summary>Adds a configuration loader at its layer.</summary>
    IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider);
}
