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
        if (Find(builder.Services) is not null)
            return AddAppRuntime(builder.Services, builder.Configuration, configure);
        foreach (var name in new[] { "appruntime.json", $"appruntime.{builder.Environment.EnvironmentName}.json" })
        {
            // Only an existing file is watched: a watcher per absent optional file would spend inotify instances for nothing.
            var path = Path.Combine(builder.Environment.ContentRootPath, name);
            var platform = new JsonFileConfigProvider(path, ConfigLayer.Platform, optional: true, reloadOnChange: File.Exists(path));
            ConfigLayering.Insert(builder.Configuration, platform.CreateSource(), ConfigLayer.Platform);
        }
        return AddAppRuntime(builder.Services, builder.Configuration, configure);
    }

    /// <summary>
    /// Adds the runtime to a service collection (for hosts built by hand and tests). The <c>AppRuntime</c> section is bound
    /// when the runtime starts, with every other section; <paramref name="configure"/> runs on the bound values and wins.
    /// </summary>
    public static IAppRuntimeBuilder AddAppRuntime(this IServiceCollection services, IConfiguration configuration, Action<AppRuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var existing = Find(services);
        if (existing is not null)
        {
            if (configure is not null)
                existing.Configure.Add(configure);
            return existing.Builder;
        }

        var registry = new RuntimeRegistry();
        var runtimeBuilder = new AppRuntimeBuilder(services, configuration, registry);
        var marker = new BuilderMarker(runtimeBuilder, []);
        if (configure is not null)
            marker.Configure.Add(configure);

        // The platform's own settings: bound by the generated binder, validated with every other section, code overrides applied.
        runtimeBuilder.AddConfigSection(new ConfigSectionDefinition<AppRuntimeOptions>(AppRuntimeOptions.SectionPath, (section, errors) =>
        {
            var options = AppRuntimeOptions.BindConfigSection(section, errors);
            foreach (var action in marker.Configure)
                action(options);
            return options;
        }) { SecretKeys = AppRuntimeOptions.ConfigSecretKeys });

        services.AddSingleton(marker);
        services.AddSingleton(registry);
        // Console logs: control characters escaped and messages bounded in the formatter, for every message (docs/observability.md).
        SanitizedConsoleLogging.Add(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.TryAdd(ServiceDescriptor.Singleton(typeof(ILogger<>), typeof(Logger<>)));
        services.AddSingleton(_ => new TraceService());
        services.AddSingleton<ITraceFactory>(sp => sp.GetRequiredService<TraceService>());
        services.AddSingleton(sp => new RuntimeServices(sp, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<TraceService>(), sp.GetRequiredService<ILoggerFactory>(),
            () => sp.GetRequiredService<IConfigSection<AppRuntimeOptions>>().Current, services));
        services.AddSingleton<ITaskQueueBackend>(sp => new InMemoryQueueBackend(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new QueueManager(sp.GetRequiredService<RuntimeServices>()));
        services.AddSingleton(sp => new ConfigurationManager(configuration, registry, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(_ => new WorkerSupervisor());
        services.AddSingleton(_ => new SourceSupervisor());
        services.AddSingleton(sp => new ClusterMembership(sp.GetRequiredService<RuntimeServices>(), sp.GetRequiredService<SourceSupervisor>(),
            sp.GetRequiredService<WorkerSupervisor>(), sp.GetRequiredService<QueueManager>(), sp.GetService<IClusterRegistry>()));
        services.AddSingleton(sp => new RuntimeManager(registry, sp.GetRequiredService<RuntimeServices>(), sp.GetRequiredService<ConfigurationManager>(),
            sp.GetRequiredService<QueueManager>(), sp.GetRequiredService<WorkerSupervisor>(), sp.GetRequiredService<SourceSupervisor>(),
            sp.GetServices<ITaskQueueBackend>(), sp.GetService<IHostApplicationLifetime>(), sp.GetRequiredService<ClusterMembership>()));
        services.AddSingleton(sp => new HealthRegistry(
            BuiltInHealth.Create(sp.GetRequiredService<RuntimeManager>, sp.GetRequiredService<WorkerSupervisor>(), sp.GetRequiredService<QueueManager>(),
                sp.GetRequiredService<ConfigurationManager>(), () => sp.GetRequiredService<SourceSupervisor>().GetSnapshots()),
            () => registry.HealthContributors.Select(f => f(sp))));
        services.AddSingleton(sp => new ControlPlaneService(sp.GetRequiredService<RuntimeManager>(), sp.GetRequiredService<WorkerSupervisor>(),
            sp.GetRequiredService<SourceSupervisor>(), sp.GetRequiredService<QueueManager>(), sp.GetRequiredService<ConfigurationManager>(), registry,
            sp.GetRequiredService<TraceService>(), sp.GetRequiredService<HealthRegistry>(), sp.GetRequiredService<AuditTrail>(),
            () => sp.GetRequiredService<RuntimeServices>().Options.BackendTimeout, sp.GetRequiredService<ClusterMembership>()));
        services.AddSingleton(sp => new AuditTrail(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>(), sp.GetServices<IAuditSink>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RuntimeManager>());
        return runtimeBuilder;
    }

    private static BuilderMarker? Find(IServiceCollection services)
    {
        foreach (var d in services)
        {
            if (d.ServiceType == typeof(BuilderMarker) && d.ImplementationInstance is BuilderMarker marker)
                return marker;
        }
        return null;
    }

    /// <summary>The runtime's builder and the code overrides of its settings, found again when AddAppRuntime runs twice.</summary>
    private sealed record BuilderMarker(AppRuntimeBuilder Builder, List<Action<AppRuntimeOptions>> Configure);
}
