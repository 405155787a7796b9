using System.Collections.Frozen;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Internal;

/// <summary>
/// Which services are singletons, read once from the service collection the runtime was added to (after the container was
/// built, so every registration is in). A singleton is the same instance from the root provider and from any scope, which is
/// what lets <see cref="TaskServices{T}"/> hand it out without opening a scope.
/// </summary>
internal sealed class SingletonServices
{
    private readonly FrozenSet<Type> _closed;
    private readonly FrozenSet<Type> _openGenerics;
    private readonly FrozenSet<Type> _notSingleton;

    /// <summary>Nothing counts as a singleton: every resolution opens the task's scope (as before the lazy scope).</summary>
    public static SingletonServices None { get; } = new([], builtIns: false);

    /// <summary>
    /// The singletons of <paramref name="descriptors"/>, as Microsoft's container resolves them, plus its built-in root services
    /// (<see cref="IServiceScopeFactory"/>, <see cref="IServiceProviderIsService"/>). Only valid when that container is the one
    /// in use: another container (Autofac, Lamar) may register a type again with another lifetime.
    /// </summary>
    public SingletonServices(IEnumerable<ServiceDescriptor> descriptors, bool builtIns = true)
    {
        // The last registration of a service type is the one GetService returns, so it decides the lifetime.
        var lifetimes = new Dictionary<Type, ServiceLifetime>();
        foreach (var d in descriptors)
        {
            if (!d.IsKeyedService)
                lifetimes[d.ServiceType] = d.Lifetime;
        }
        if (builtIns)
        {
            foreach (var type in new[] { typeof(IServiceScopeFactory), typeof(IServiceProviderIsService), typeof(IServiceProviderIsKeyedService) })
                lifetimes.TryAdd(type, ServiceLifetime.Singleton);
        }
        _closed = lifetimes.Where(kv => kv.Value == ServiceLifetime.Singleton && !kv.Key.IsGenericTypeDefinition).Select(kv => kv.Key).ToFrozenSet();
        _openGenerics = lifetimes.Where(kv => kv.Value == ServiceLifetime.Singleton && kv.Key.IsGenericTypeDefinition).Select(kv => kv.Key).ToFrozenSet();
        // A closed registration wins over an open generic one (ILogger<Foo> registered scoped beside ILogger<> as a singleton).
        _notSingleton = lifetimes.Where(kv => kv.Value != ServiceLifetime.Singleton).Select(kv => kv.Key).ToFrozenSet();
    }

    public bool IsSingleton(Type serviceType)
    {
        if (_closed.Contains(serviceType))
            return true;
        return serviceType.IsConstructedGenericType && !_notSingleton.Contains(serviceType)
            && _openGenerics.Contains(serviceType.GetGenericTypeDefinition());
    }
}

/// <summary>
/// The services of the tasks of one queue (<see cref="TaskContext.Services"/>, and what the handler factory resolves from; the
/// context itself is the provider): singletons come from the root provider, anything else opens the task's DI scope on first use,
/// kept in the context. A handler whose dependencies are all singletons (or that has none) so runs without a scope; one that
/// needs a scoped or transient service gets a fresh scope per task, as before, disposed when the handler returns.
/// </summary>
internal sealed class TaskServices<T>(ITaskQueue<T> queue, IServiceProvider root, IServiceScopeFactory scopes, SingletonServices singletons)
    : TaskContextSource
{
    /// <summary>Marks the services of a task whose handler returned: a later resolution fails, as from a disposed scope.</summary>
    private static readonly IServiceScope Disposed = new DisposedScope();

    public override string Queue => queue.Name;

    public override int MaxAttempts => queue.Definition.MaxAttempts;

    /// <summary>The context of one delivery of <paramref name="envelope"/>, which is also its service provider.</summary>
    public TaskContext For(TaskEnvelope<T> envelope) => new(this, envelope);

    /// <summary>Whether the task of <paramref name="context"/> opened its scope.</summary>
    public static bool HasScope(TaskContext context) => Volatile.Read(ref context.Scope) is { } scope && !ReferenceEquals(scope, Disposed);

    public override IServiceProvider ServicesOf(TaskContext context) => context;

    public override object? GetService(TaskContext context, Type serviceType)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return singletons.IsSingleton(serviceType) ? root.GetService(serviceType) : Scoped(context).GetService(serviceType);
    }

    public override IKeyedServiceProvider Keyed(TaskContext context) => AsKeyed(Scoped(context));

    /// <summary>
    /// Disposes the scope of <paramref name="context"/>, if its task opened one. Afterwards every resolution of a non-singleton
    /// throws <see cref="ObjectDisposedException"/> (work the handler left running must not open a scope nobody disposes).
    /// </summary>
    public static ValueTask DisposeAsync(TaskContext context)
        => Interlocked.Exchange(ref context.Scope, Disposed) is { } scope && !ReferenceEquals(scope, Disposed)
            ? new AsyncServiceScope(scope).DisposeAsync()
            : default;

    private IServiceProvider Scoped(TaskContext context)
    {
        if (Volatile.Read(ref context.Scope) is { } scope)
        {
            ObjectDisposedException.ThrowIf(ReferenceEquals(scope, Disposed), context);
            return scope.ServiceProvider;
        }
        // A handler may resolve from several threads of its own: one scope wins, a scope opened in the race is disposed unused.
        var created = scopes.CreateScope();
        if (Interlocked.CompareExchange(ref context.Scope, created, null) is { } won)
        {
            created.Dispose();
            ObjectDisposedException.ThrowIf(ReferenceEquals(won, Disposed), context);
            return won.ServiceProvider;
        }
        return created.ServiceProvider;
    }

    private sealed class DisposedScope : IServiceScope
    {
        public IServiceProvider ServiceProvider => throw new ObjectDisposedException("the services of a task");

        public void Dispose()
        {
        }
    }
}
