using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AppRuntime.Internal;

/// <summary>The current value of one typed section and its subscribers; also serves IOptions/IOptionsMonitor.</summary>
internal sealed class SectionHolder<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(string path, T initial) : IConfigSection<T>, IOptions<T>, IOptionsMonitor<T>, ConfigurationManager.ISectionHolder
    where T : class
{
    private readonly List<Action<T>> _listeners = [];
    private volatile T _current = initial;

    public string Path { get; } = path;

    public T Current => _current;

    public T Value => _current;

    public T CurrentValue => _current;

    public T Get(string? name) => _current;

    public IDisposable OnChange(Action<T> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        lock (_listeners)
            _listeners.Add(listener);
        return new Subscription(this, listener);
    }

    public IDisposable OnChange(Action<T, string?> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return OnChange(v => listener(v, Options.DefaultName));
    }

    public Action Set(object value)
    {
        var typed = (T)value;
        _current = typed;
        Action<T>[] listeners;
        lock (_listeners)
            listeners = [.. _listeners];
        return () =>
        {
            foreach (var l in listeners)
                l(typed);
        };
    }

    private sealed class Subscription(SectionHolder<T> owner, Action<T> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._listeners)
                owner._listeners.Remove(listener);
        }
    }
}

internal sealed class ConfigSectionRegistration<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(ConfigSectionDefinition<T> definition) : ConfigSectionRegistration where T : class
{
    public override string Path => definition.Path;

    public override IReadOnlyList<string> SecretKeys => definition.SecretKeys;

    public override object? Bind(IConfiguration configuration, ConfigErrors errors) => definition.Bind(configuration.GetSection(definition.Path), errors);

    public override ConfigurationManager.ISectionHolder CreateHolder(object value) => new SectionHolder<T>(definition.Path, (T)value);

    public override void RegisterServices(IServiceCollection services)
    {
        var path = definition.Path;
        services.AddSingleton<IConfigSection<T>>(sp => sp.GetRequiredService<ConfigurationManager>().GetSection<T>(path));
        services.AddSingleton<IOptions<T>>(sp => (SectionHolder<T>)sp.GetRequiredService<ConfigurationManager>().GetSection<T>(path));
        services.AddSingleton<IOptionsMonitor<T>>(sp => (SectionHolder<T>)sp.GetRequiredService<ConfigurationManager>().GetSection<T>(path));
        // One value per scope (per task): a reload during a handler does not change what the handler sees.
        services.AddScoped<IOptionsSnapshot<T>>(sp => new SectionSnapshot<T>(sp.GetRequiredService<ConfigurationManager>().GetSection<T>(path).Current));
        services.AddTransient(sp => sp.GetRequiredService<ConfigurationManager>().GetSection<T>(path).Current);
    }
}

/// <summary>The value of a section as it was when the scope first asked for it.</summary>
internal sealed class SectionSnapshot<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] T>(T value) : IOptionsSnapshot<T>
    where T : class
{
    public T Value { get; } = value;

    public T Get(string? name) => Value;
}
