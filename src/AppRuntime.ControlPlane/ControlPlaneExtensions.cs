using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime;

/// <summary>Adds the HTTP control plane to an AppRuntime host.</summary>
public static class ControlPlaneExtensions
{
    /// <summary>The configuration section of the control plane.</summary>
    public const string SectionPath = "AppRuntime:ControlPlane";

    /// <summary>
    /// Adds the HTTP control plane: a Kestrel server inside the application's generic host serving health probes, status,
    /// admin actions and the dashboard. Its settings are the section <c>AppRuntime:ControlPlane</c> (<see cref="ControlPlaneOptions"/>),
    /// bound and checked with every other section at start; <paramref name="configure"/> runs after configuration. The server starts before the runtime and stops after it, so probes answer while the runtime starts and
    /// drains. Calling it again adds <paramref name="configure"/> to the same registration.
    /// </summary>
    public static IAppRuntimeBuilder AddControlPlane(this IAppRuntimeBuilder builder, Action<ControlPlaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(ControlPlaneRegistration))?.ImplementationInstance as ControlPlaneRegistration;
        if (existing is not null)
        {
            if (configure is not null)
                existing.Configure.Add(configure);
            return builder;
        }

        var registration = new ControlPlaneRegistration();
        if (configure is not null)
            registration.Configure.Add(configure);
        services.AddSingleton(registration);
        AppRuntimeRegistration.AddConfigSection(builder, new ConfigSectionDefinition<ControlPlaneOptions>(SectionPath, (section, errors) =>
        {
            var options = ControlPlaneOptions.BindConfigSection(section, errors);
            foreach (var action in registration.Configure)
                action(options);
            options.Validate(section, errors);
            return options;
        }) { SecretKeys = ControlPlaneOptions.ConfigSecretKeys });
        // The settings are read where they are used, so users, API keys and roles follow configuration reloads.
        services.AddSingleton(sp => new ControlPlaneHostedService(
            () => sp.GetRequiredService<IConfigSection<ControlPlaneOptions>>().Current,
            sp.GetRequiredService<ControlPlaneService>(),
            sp.GetRequiredService<ILoggerFactory>(),
            registration.Time ?? sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IControlPlaneServer>(sp => sp.GetRequiredService<ControlPlaneHostedService>());
        // `<app> --hash-password` and `<app> --new-api-key` through AppRuntimeConsole.
        services.AddSingleton<IAppRuntimeCommand, HashPasswordCommand>();
        services.AddSingleton<IAppRuntimeCommand, NewApiKeyCommand>();

        // Start before the runtime and stop after it: insert ahead of the first hosted service (the runtime's).
        var hosted = ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<ControlPlaneHostedService>());
        var index = -1;
        for (var i = 0; i < services.Count; i++)
        {
            if (services[i].ServiceType == typeof(IHostedService))
            {
                index = i;
                break;
            }
        }
        if (index < 0)
            services.Add(hosted);
        else
            services.Insert(index, hosted);
        return builder;
    }
}
