using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Configuration.Tests;

/// <summary>
/// A runtime composed by hand the way generated module code composes it: <c>AddAppRuntime(configuration)</c>, the
/// <see cref="ShopSettings"/> section, and whatever the test adds (database providers, files).
/// </summary>
internal sealed class ConfigRuntime : IAsyncDisposable
{
    private ServiceProvider? _provider;

    public ConfigRuntime(Action<IAppRuntimeBuilder> compose, TimeProvider? time = null, Microsoft.Extensions.Configuration.ConfigurationManager? configuration = null)
    {
        Configuration = configuration ?? new Microsoft.Extensions.Configuration.ConfigurationManager();
        Services = new ServiceCollection();
        if (time is not null)
            Services.AddSingleton(time);
        Builder = Services.AddAppRuntime(Configuration, o => o.DrainTimeout = TimeSpan.Zero);
        Builder.AddConfigSection(ShopSettings.Definition);
        compose(Builder);
    }

    public Microsoft.Extensions.Configuration.ConfigurationManager Configuration { get; }

    public ServiceCollection Services { get; }

    public IAppRuntimeBuilder Builder { get; }

    public IServiceProvider Provider => _provider ??= Services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

    public RuntimeManager Runtime => Provider.GetRequiredService<RuntimeManager>();

    public HealthRegistry Health => Provider.GetRequiredService<HealthRegistry>();

    public AppRuntime.ConfigurationManager Config => Provider.GetRequiredService<AppRuntime.ConfigurationManager>();

    public IConfigSection<ShopSettings> Shop => Provider.GetRequiredService<IConfigSection<ShopSettings>>();

    public Task StartAsync() => Runtime.StartAsync(CancellationToken.None);

    /// <summary>The readiness entry of one contributor.</summary>
    public async Task<HealthEntry> HealthOfAsync(string name) =>
        (await Health.CheckReadinessAsync()).Entries.Single(e => e.Name == name);

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
        {
            if (Runtime.State == RuntimeState.Running)
                await Runtime.StopAsync(CancellationToken.None);
            await _provider.DisposeAsync();
        }
        // Disposes the configuration providers: poll timers and LISTEN loops end.
        Configuration.Dispose();
    }
}
