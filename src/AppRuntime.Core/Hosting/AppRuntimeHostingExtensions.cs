using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using AppRuntime.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AppRuntime;

/// <summary>Adds AppRuntime to a host.</summary>
public static class AppRuntimeHostingExtensions
{
    /// <summary>
    /// Adds the runtime to a host: the platform configuration layer (<c>appruntime.json</c>, <c>appruntime.{Environment}.json</c>),
    /// the core services and the in-memory queue backend. Returns the builder that generated <c>Add&lt;Module&gt;()</c> methods extend.
    /// Calling it again returns the same builder.
    /// </summary>
    public static IAppRuntimeBuilder AddAppRuntime(this IHostApplicationBuilder builder, Action<AppRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var existing = Find(builder.Services);
        if (existing is not null)
        {
            configure?.Invoke(existing.Options);
            return existing;
        }
        foreach (var name in new[] { "appruntime.json", $"appruntime.{builder.Environment.EnvironmentName}.json" })
        {
            // Only an existing file is watched: a watcher per absent optional file would spend inotify instances for nothing.
            var path = Path.Combine(builder.Environment.ContentRootPath, name);
            var platform = new JsonFileConfigProvider(path, ConfigLayer.Platform, optional: true, reloadOnChange: File.Exists(path));
            ConfigLayering.Insert(builder.Configuration, platform.CreateSource(), ConfigLayer.Platform);
        }
        return AddAppRuntime(builder.Services, builder.Configuration, configure);
    }

    /// <summary>Adds the runtime to a service collection (for hosts built by hand and tests).</summary>
    public static IAppRuntimeBuilder AddAppRuntime(this IServiceCollection services, IConfiguration configuration, Action<AppRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var existing = Find(services);
        if (existing is not null)
        {
            configure?.Invoke(existing.Options);
            return existing;
        }

        var options = ReadOptions(configuration);
        configure?.Invoke(options);
        var registry = new RuntimeRegistry();
        var runtimeBuilder = new AppRuntimeBuilder(services, configuration, registry);

        services.AddSingleton(new BuilderMarker(runtimeBuilder, options));
        services.AddSingleton(registry);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
        services.AddSingleton(_ => new TraceService());
        services.AddSingleton<ITraceFactory>(sp => sp.GetRequiredService<TraceService>());
        services.AddSingleton(sp => new RuntimeServices(sp, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<TraceService>(), sp.GetRequiredService<ILoggerFactory>(), options));
        services.AddSingleton<ITaskQueueBackend>(sp => new InMemoryQueueBackend(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new QueueManager(sp.GetRequiredService<RuntimeServices>(), sp.GetServices<ITaskQueueBackend>(), configuration));
        services.AddSingleton(sp => new ConfigurationManager(configuration, registry, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(_ => new WorkerSupervisor());
        services.AddSingleton(sp => new RuntimeManager(registry, sp.GetRequiredService<RuntimeServices>(), sp.GetRequiredService<ConfigurationManager>(),
            sp.GetRequiredService<QueueManager>(), sp.GetRequiredService<WorkerSupervisor>(), sp.GetService<IHostApplicationLifetime>()));
        services.AddSingleton(sp => new HealthRegistry(
            BuiltInHealth.Create(sp.GetRequiredService<RuntimeManager>, sp.GetRequiredService<WorkerSupervisor>(), sp.GetRequiredService<QueueManager>(),
                sp.GetRequiredService<ConfigurationManager>(), () => sp.GetRequiredService<RuntimeManager>().GetSourceSnapshots()),
            () => registry.HealthContributors.Select(f => f(sp))));
        services.AddSingleton(sp => new ControlPlaneService(sp.GetRequiredService<RuntimeManager>(), sp.GetRequiredService<WorkerSupervisor>(),
            sp.GetRequiredService<QueueManager>(), sp.GetRequiredService<ConfigurationManager>(), registry, sp.GetRequiredService<TraceService>(),
            sp.GetRequiredService<HealthRegistry>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RuntimeManager>());
        return runtimeBuilder;
    }

    private static AppRuntimeBuilderWithOptions? Find(IServiceCollection services)
    {
        foreach (var d in services)
        {
            if (d.ServiceType == typeof(BuilderMarker) && d.ImplementationInstance is BuilderMarker marker)
                return new AppRuntimeBuilderWithOptions(marker.Builder, marker.Options);
        }
        return null;
    }

    private static AppRuntimeOptions ReadOptions(IConfiguration configuration)
    {
        var options = new AppRuntimeOptions();
        if (TryTime(configuration, "AppRuntime:DrainTimeout") is { } drain)
            options.DrainTimeout = drain;
        if (TryTime(configuration, "AppRuntime:ShutdownTimeout") is { } shutdown)
            options.ShutdownTimeout = shutdown;
        if (configuration["AppRuntime:DefaultBackend"] is { Length: > 0 } backend)
            options.DefaultBackend = backend;
        return options;
    }

    private static TimeSpan? TryTime(IConfiguration configuration, string key)
    {
        var value = configuration[key];
        if (value is null)
            return null;
        if (TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero)
            return span;
        throw new ConfigValidationException([new ConfigError(key, $"'{value}' is not a valid non-negative time span (use hh:mm:ss)")]);
    }

    private sealed record BuilderMarker(AppRuntimeBuilder Builder, AppRuntimeOptions Options);

    private sealed class AppRuntimeBuilderWithOptions(AppRuntimeBuilder inner, AppRuntimeOptions options) : IAppRuntimeBuilder
    {
        public AppRuntimeOptions Options { get; } = options;
        public IServiceCollection Services => inner.Services;
        public IConfiguration Configuration => inner.Configuration;
        public bool AddModule(ModuleTopology topology) => inner.AddModule(topology);
        public IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null) { inner.AddQueue(definition, serializer); return this; }
        public IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition) { inner.AddWorkerPool(definition); return this; }
        public IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory) { inner.AddHandler(queue, factory); return this; }
        public IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) { inner.AddSource(definition, factory); return this; }
        public IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) { inner.AddOutcomeObserver(queue, factory); return this; }
        public IAppRuntimeBuilder AddConfigSection<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(ConfigSectionDefinition<T> definition) where T : class { inner.AddConfigSection(definition); return this; }
        public IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory) { inner.AddHealthContributor(factory); return this; }
        public IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider) { inner.AddConfigProvider(provider); return this; }
    }
}
