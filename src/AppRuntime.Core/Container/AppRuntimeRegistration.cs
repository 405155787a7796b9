using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// The generic registrations of <see cref="IAppRuntimeBuilder"/> as static methods, which generated module code calls when the
/// module's project references AppRuntime.Core (and the adapters that reference Core call). They do what the builder's methods do.
/// </summary>
/// <remarks>
/// The reason is start-up time in native AOT. A call of a generic method through an interface (a generic virtual method) is resolved
/// at run time there, the first time for each task type: a search of the binary's tables and, for shared code, a dictionary the type
/// loader builds. That was 9–11 % of the Mail Order Bot's start in native AOT (docs/benchmarks.md). A static generic
/// method is compiled for its exact task type, and the runtime's own builder is then called directly. Any other builder (a test
/// harness that wraps the runtime's builder) is called through the interface, as before.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class AppRuntimeRegistration
{
    /// <inheritdoc cref="IAppRuntimeBuilder.AddQueue{T}(QueueDefinition, TaskSerializer{T}?)"/>
    public static IAppRuntimeBuilder AddQueue<T>(IAppRuntimeBuilder builder, QueueDefinition definition, TaskSerializer<T>? serializer = null) =>
        builder is AppRuntimeBuilder runtime ? runtime.AddQueueDirect(definition, serializer) : Checked(builder).AddQueue(definition, serializer);

    /// <inheritdoc cref="IAppRuntimeBuilder.AddHandler{T}(string, Func{IServiceProvider, ITaskHandler{T}})"/>
    public static IAppRuntimeBuilder AddHandler<T>(IAppRuntimeBuilder builder, string queue, Func<IServiceProvider, ITaskHandler<T>> factory) =>
        builder is AppRuntimeBuilder runtime ? runtime.AddHandlerDirect(queue, factory) : Checked(builder).AddHandler(queue, factory);

    /// <inheritdoc cref="IAppRuntimeBuilder.AddSource{T}(SourceDefinition, Func{IServiceProvider, ITaskSource{T}})"/>
    public static IAppRuntimeBuilder AddSource<T>(IAppRuntimeBuilder builder, SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) =>
        builder is AppRuntimeBuilder runtime ? runtime.AddSourceDirect(definition, factory) : Checked(builder).AddSource(definition, factory);

    /// <inheritdoc cref="IAppRuntimeBuilder.AddOutcomeObserver{T}(string, Func{IServiceProvider, ITaskOutcomeObserver{T}})"/>
    public static IAppRuntimeBuilder AddOutcomeObserver<T>(IAppRuntimeBuilder builder, string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) =>
        builder is AppRuntimeBuilder runtime ? runtime.AddOutcomeObserverDirect(queue, factory) : Checked(builder).AddOutcomeObserver(queue, factory);

    /// <inheritdoc cref="IAppRuntimeBuilder.AddConfigSection{T}(ConfigSectionDefinition{T})"/>
    public static IAppRuntimeBuilder AddConfigSection<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(
        IAppRuntimeBuilder builder, ConfigSectionDefinition<T> definition) where T : class =>
        builder is AppRuntimeBuilder runtime ? runtime.AddConfigSectionDirect(definition) : Checked(builder).AddConfigSection(definition);

    private static IAppRuntimeBuilder Checked(IAppRuntimeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder;
    }
}
