using System.Globalization;
using AppRuntime.Internal;
using Microsoft.Extensions.Configuration;
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
    /// admin actions and the dashboard. It reads <c>AppRuntime:ControlPlane:Urls</c> (default <c>http://127.0.0.1:5080</c>),
    /// <c>:Token</c>, <c>:Enabled</c>, <c>:ReadOnly</c> and <c>:RequireTokenForReads</c>; <paramref name="configure"/> runs after
    /// configuration. The server starts before the runtime and stops after it, so probes answer while the runtime starts and
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
        var configuration = builder.Configuration;
        services.AddSingleton(registration);
        services.AddSingleton(_ =>
        {
            var options = ReadOptions(configuration);
            foreach (var action in registration.Configure)
                action(options);
            return options;
        });
        services.AddSingleton(sp => new ControlPlaneHostedService(
            sp.GetRequiredService<ControlPlaneOptions>(),
            sp.GetRequiredService<ControlPlaneService>(),
            sp.GetRequiredService<RuntimeManager>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<IControlPlaneServer>(sp => sp.GetRequiredService<ControlPlaneHostedService>());

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

    private static ControlPlaneOptions ReadOptions(IConfiguration configuration)
    {
        var options = new ControlPlaneOptions();
        var errors = new List<ConfigError>();
        if (configuration[SectionPath + ":Urls"] is { Length: > 0 } urls)
            options.Urls = urls;
        if (configuration[SectionPath + ":Token"] is { Length: > 0 } token)
            options.Token = token;
        options.Enabled = ReadBool(configuration, SectionPath + ":Enabled", options.Enabled, errors);
        options.ReadOnly = ReadBool(configuration, SectionPath + ":ReadOnly", options.ReadOnly, errors);
        options.RequireTokenForReads = ReadBool(configuration, SectionPath + ":RequireTokenForReads", options.RequireTokenForReads, errors);
        var key = SectionPath + ":MaxRequestBodySize";
        if (configuration[key] is { } size)
        {
            if (long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0)
                options.MaxRequestBodySize = bytes;
            else
                errors.Add(new ConfigError(key, $"must be a positive whole number of bytes (was '{size}')"));
        }
        if (errors.Count > 0)
            throw new ConfigValidationException(errors);
        return options;
    }

    private static bool ReadBool(IConfiguration configuration, string key, bool fallback, List<ConfigError> errors)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
            return fallback;
        if (bool.TryParse(value.Trim(), out var result))
            return result;
        errors.Add(new ConfigError(key, $"must be true or false (was '{value}')"));
        return fallback;
    }
}
