using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime;

/// <summary>Adds webhook sources and their HTTP listener to an AppRuntime host. Generated code calls these; hosts composed by hand may too.</summary>
public static class WebhookAppRuntimeBuilderExtensions
{
    /// <summary>The configuration section of the webhook listener and its sources.</summary>
    public const string SectionPath = "AppRuntime:Webhooks";

    /// <summary>
    /// Adds the webhook listener: a Kestrel server of its own inside the application's generic host, on
    /// <c>AppRuntime:Webhooks:Urls</c>, separate from the control plane. It starts before the runtime and stops after it, so requests
    /// that arrive while the runtime starts or drains are answered 503 with <c>Retry-After</c>. Its settings are the section
    /// <c>AppRuntime:Webhooks</c> (<see cref="WebhookOptions"/>), checked with every other section at start; <paramref name="configure"/>
    /// runs after configuration. Adding a webhook source adds the listener; calling this again adds <paramref name="configure"/>.
    /// </summary>
    public static IAppRuntimeBuilder AddWebhooks(this IAppRuntimeBuilder builder, Action<WebhookOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var registry = EnsureRegistry(builder);
        if (configure is not null)
            registry.Configure.Add(configure);
        return builder;
    }

    /// <summary>
    /// Adds a webhook source whose JSON body is the task (<see cref="IWebhookSource{TTask}"/>), read with
    /// <paramref name="serializer"/> (the generated or the app's System.Text.Json serializer: no reflection).
    /// </summary>
    public static IAppRuntimeBuilder AddWebhookSource<TTask>(this IAppRuntimeBuilder builder, WebhookSourceDefinition definition, TaskSerializer<TTask> serializer) =>
        AddWebhookSource(builder, definition, serializer, static _ => IdentityMapping<TTask>.Instance);

    /// <summary>
    /// Adds a webhook source with a mapping method (<see cref="IWebhookSource{TRequest, TTask}"/>): the body is read as
    /// <typeparamref name="TRequest"/> with <paramref name="requestSerializer"/>, and the object <paramref name="factory"/> returns (once,
    /// when the source starts) decides what is published.
    /// </summary>
    public static IAppRuntimeBuilder AddWebhookSource<TRequest, TTask>(this IAppRuntimeBuilder builder, WebhookSourceDefinition definition,
        TaskSerializer<TRequest> requestSerializer, Func<IServiceProvider, IWebhookSource<TRequest, TTask>> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(requestSerializer);
        ArgumentNullException.ThrowIfNull(factory);
        definition.Validate();
        var registry = EnsureRegistry(builder);
        var endpoint = new WebhookEndpoint<TRequest, TTask>(definition, requestSerializer, factory);
        registry.Add(endpoint);
        builder.AddSource<TTask>(new SourceDefinition(definition.Name, definition.Queue), sp => new WebhookTaskSource<TRequest, TTask>(endpoint, sp));
        return builder;
    }

    private static WebhookRegistry EnsureRegistry(IAppRuntimeBuilder builder)
    {
        var services = builder.Services;
        if (services.FirstOrDefault(d => d.ServiceType == typeof(WebhookRegistry))?.ImplementationInstance is WebhookRegistry existing)
            return existing;

        var registry = new WebhookRegistry();
        services.AddSingleton(registry);
        builder.AddConfigSection(new ConfigSectionDefinition<WebhookOptions>(SectionPath, (section, errors) =>
        {
            var options = WebhookOptions.BindConfigSection(section, errors);
            foreach (var action in registry.Configure)
                action(options);
            WebhookOptionsValidation.Validate(options, section, errors, registry);
            return options;
        }) { SecretKeys = WebhookRegistry.SecretKeys(WebhookOptions.ConfigSecretKeys) });
        services.AddSingleton(_ => new WebhookMetrics());
        services.AddSingleton(sp => new WebhookHostedService(registry, sp,
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IWebhookServer>(sp => sp.GetRequiredService<WebhookHostedService>());

        // Start before the runtime and stop after it: insert ahead of the first hosted service (the runtime's).
        var hosted = ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<WebhookHostedService>());
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
        return registry;
    }
}
