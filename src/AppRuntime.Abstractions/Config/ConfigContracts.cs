using Microsoft.Extensions.Configuration;

namespace AppRuntime;

/// <summary>The configuration layers, lowest precedence first.</summary>
public enum ConfigLayer
{
    /// <summary>Built-in defaults.</summary>
    Defaults = 0,

    /// <summary>Platform configuration (the <c>AppRuntime</c> section, e.g. <c>appruntime.json</c>).</summary>
    Platform = 1,

    /// <summary>Application configuration (<c>appsettings.json</c>).</summary>
    Application = 2,

    /// <summary>Configuration stored in a database.</summary>
    Database = 3,

    /// <summary>Environment variables.</summary>
    Environment = 4,

    /// <summary>Command-line arguments.</summary>
    CommandLine = 5,
}

/// <summary>A configuration loader (seed: ConfigProvider): contributes one source at one layer.</summary>
public interface IConfigProvider
{
    /// <summary>A name for status and errors, e.g. <c>file:appsettings.json</c>.</summary>
    string Name { get; }

    /// <summary>Where the provider sits in the precedence order.</summary>
    ConfigLayer Layer { get; }

    /// <summary>Creates the Microsoft.Extensions.Configuration source that reads the values.</summary>
    IConfigurationSource CreateSource();
}

/// <summary>One configuration problem, named by its key path.</summary>
/// <param name="KeyPath">The full key, e.g. <c>MailOrderBot:Imap:Port</c>.</param>
/// <param name="Message">What is wrong.</param>
public sealed record ConfigError(string KeyPath, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{KeyPath}: {Message}";
}

/// <summary>Collects every problem found while binding, so all are reported at once.</summary>
public sealed class ConfigErrors
{
    private readonly List<ConfigError> _items = [];

    /// <summary>The problems found so far.</summary>
    public IReadOnlyList<ConfigError> Items => _items;

    /// <summary>True when no problem was found.</summary>
    public bool IsEmpty => _items.Count == 0;

    /// <summary>Records a problem.</summary>
    public void Add(string keyPath, string message) => _items.Add(new ConfigError(keyPath, message));

    /// <summary>Records problems.</summary>
    public void AddRange(IEnumerable<ConfigError> errors) => _items.AddRange(errors);
}

/// <summary>Thrown when configuration is invalid; lists every problem with its key path.</summary>
public sealed class ConfigValidationException : Exception
{
    /// <summary>Creates the exception from the problems found.</summary>
    public ConfigValidationException(IReadOnlyList<ConfigError> errors)
        : base(FormatMessage(errors)) => Errors = errors;

    /// <summary>Creates the exception.</summary>
    public ConfigValidationException() : this([]) { }

    /// <summary>Creates the exception.</summary>
    public ConfigValidationException(string message) : base(message) => Errors = [];

    /// <summary>Creates the exception.</summary>
    public ConfigValidationException(string message, Exception innerException) : base(message, innerException) => Errors = [];

    /// <summary>Every problem, with its key path.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<ConfigError> errors) =>
        errors.Count == 0
            ? "Configuration is invalid."
            : $"Configuration is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):" + Environment.NewLine +
              string.Join(Environment.NewLine, errors.Select(e => "  - " + e));
}

/// <summary>
/// Declares a typed configuration section. <see cref="Bind"/> reads the section and reports every problem into
/// the <see cref="ConfigErrors"/> it is given; generated code supplies it, so no reflection binder is used.
/// </summary>
/// <typeparam name="T">The settings type.</typeparam>
/// <param name="Path">The section path, e.g. <c>MailOrderBot:Imap</c>.</param>
/// <param name="Bind">Reads the section (the <see cref="IConfigurationSection"/> at <paramref name="Path"/>) into a new instance.</param>
public sealed record ConfigSectionDefinition<T>(string Path, Func<IConfigurationSection, ConfigErrors, T> Bind) where T : class
{
    /// <summary>Keys under the section whose values are secrets and must never be shown or logged.</summary>
    public IReadOnlyList<string> SecretKeys { get; init; } = [];
}

/// <summary>Typed, reloadable access to one configuration section.</summary>
/// <typeparam name="T">The settings type.</typeparam>
public interface IConfigSection<out T> where T : class
{
    /// <summary>The section path.</summary>
    string Path { get; }

    /// <summary>The last valid value.</summary>
    T Current { get; }

    /// <summary>Subscribes to valid reloads. Dispose the result to unsubscribe.</summary>
    IDisposable OnChange(Action<T> listener);
}
