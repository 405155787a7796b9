using AppRuntime.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace AppRuntime;

/// <summary>The outcome of a configuration reload.</summary>
/// <param name="Applied">True when the new values were valid and are now current.</param>
/// <param name="Errors">Why the reload was refused (empty when applied).</param>
public sealed record ConfigReloadResult(bool Applied, IReadOnlyList<ConfigError> Errors);

/// <summary>
/// Typed, validated, reloadable configuration (seed: ConfigurationManager). Layers come from Microsoft.Extensions.Configuration
/// in this order: defaults, platform (<c>appruntime.json</c>, section <c>AppRuntime</c>), application (<c>appsettings.json</c>),
/// database providers, environment variables, command line. Every declared section is bound by generated code; all errors are
/// reported at once with their key paths. A reload that makes any section invalid is refused: the last good values stay
/// current and health turns Degraded with the reason until a valid reload.
/// </summary>
public sealed partial class ConfigurationManager : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly RuntimeRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<string, ISectionHolder> _holders = new(StringComparer.Ordinal);
    private IDisposable? _changeSubscription;
    private bool _initialized;
    private int _suppressChangeCallback;

    internal ConfigurationManager(IConfiguration configuration, RuntimeRegistry registry, TimeProvider time, ILoggerFactory loggers)
    {
        _configuration = configuration;
        _registry = registry;
        _time = time;
        _logger = loggers.CreateLogger("AppRuntime.Configuration");
    }

    /// <summary>The merged configuration.</summary>
    public IConfiguration Configuration => _configuration;

    /// <summary>The errors of the last refused reload; empty when the last reload applied.</summary>
    public IReadOnlyList<ConfigError> LastReloadErrors { get; private set; } = [];

    /// <summary>When the last reload (applied or refused) happened.</summary>
    public DateTimeOffset? LastReloadAt { get; private set; }

    /// <summary>How many reloads were applied since start.</summary>
    public int Version { get; private set; }

    /// <summary>Raised after a valid reload made new values current.</summary>
    public event EventHandler? Reloaded;

    /// <summary>The paths of the declared sections.</summary>
    public IReadOnlyList<string> SectionPaths => [.. _registry.ConfigSections.Select(s => s.Path).Order(StringComparer.Ordinal)];

    /// <summary>Keys (full paths) whose values are secret.</summary>
    public IReadOnlySet<string> SecretKeys =>
        _registry.ConfigSections.SelectMany(s => s.SecretKeys.Select(k => s.Path + ":" + k)).ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every key and value of the merged configuration, sorted, with secret values replaced by <see cref="ConfigRedaction.Mask"/>.</summary>
    public IReadOnlyDictionary<string, string> GetRedactedView() => ConfigRedaction.Redact(_configuration, SecretKeys);

    /// <summary>Returns the error with a secret value it quotes masked.</summary>
    internal ConfigError Redact(ConfigError error) => ConfigRedaction.Redact(error, _configuration, SecretKeys);

    /// <summary>Typed access to the section at <paramref name="path"/>.</summary>
    public IConfigSection<T> GetSection<T>(string path) where T : class
    {
        EnsureInitialized();
        lock (_lock)
        {
            if (!_holders.TryGetValue(path, out var holder))
                throw new UnknownComponentException("configuration section", path);
            return holder as SectionHolder<T> ?? throw new InvalidOperationException($"Configuration section '{path}' is not of type {typeof(T).Name}.");
        }
    }

    /// <summary>Binds and validates every section; throws <see cref="ConfigValidationException"/> listing all problems.</summary>
    public void Initialize()
    {
        lock (_lock)
        {
            if (_initialized)
                return;
            var (values, errors) = BindAll();
            if (errors.Count > 0)
                throw new ConfigValidationException(errors);
            InitializeLocked(values);
        }
        _changeSubscription ??= ChangeToken.OnChange(_configuration.GetReloadToken, OnConfigurationChanged);
    }

    /// <summary>Makes <paramref name="values"/> (from a <see cref="BindAll"/> without errors) the current values, unless already initialized.</summary>
    internal void Initialize(Dictionary<string, object> values)
    {
        lock (_lock)
        {
            if (_initialized)
                return;
            InitializeLocked(values);
        }
        _changeSubscription ??= ChangeToken.OnChange(_configuration.GetReloadToken, OnConfigurationChanged);
    }

    private void InitializeLocked(Dictionary<string, object> values)
    {
        foreach (var reg in _registry.ConfigSections)
            _holders[reg.Path] = reg.CreateHolder(values[reg.Path]);
        _initialized = true;
    }

    /// <summary>Re-reads every provider, then validates and applies the result (or refuses it).</summary>
    public ConfigReloadResult Reload()
    {
        EnsureInitialized();
        Interlocked.Increment(ref _suppressChangeCallback);
        try
        {
            (_configuration as IConfigurationRoot)?.Reload();
        }
        finally
        {
            Interlocked.Decrement(ref _suppressChangeCallback);
        }
        return Apply();
    }

    private void OnConfigurationChanged()
    {
        if (Volatile.Read(ref _suppressChangeCallback) > 0)
            return;
        Apply();
    }

    private ConfigReloadResult Apply()
    {
        List<Action> notifications = [];
        ConfigReloadResult result;
        lock (_lock)
        {
            var (values, errors) = BindAll();
            LastReloadAt = _time.GetUtcNow();
            if (errors.Count > 0)
            {
                LastReloadErrors = errors;
                result = new ConfigReloadResult(false, errors);
                Log.ReloadRefused(_logger, errors.Count, string.Join("; ", errors));
            }
            else
            {
                LastReloadErrors = [];
                Version++;
                foreach (var (path, holder) in _holders)
                    notifications.Add(holder.Set(values[path]));
                result = new ConfigReloadResult(true, []);
                Log.ReloadApplied(_logger, Version);
            }
        }
        foreach (var notify in notifications)
            notify();
        if (result.Applied)
            Reloaded?.Invoke(this, EventArgs.Empty);
        return result;
    }

    /// <summary>Binds every section without making anything current: the values that bound cleanly, and every problem (secrets masked).</summary>
    internal (Dictionary<string, object> Values, List<ConfigError> Errors) BindAll()
    {
        var errors = new ConfigErrors();
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var reg in _registry.ConfigSections)
        {
            var before = errors.Items.Count;
            object? value;
            try
            {
                value = reg.Bind(_configuration, errors);
            }
#pragma warning disable CA1031 // A binder failure is a configuration error to report with its path, not a crash.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                errors.Add(reg.Path, ex.Message);
                value = null;
            }
            if (value is not null && errors.Items.Count == before)
                values[reg.Path] = value;
            else if (errors.Items.Count == before)
                errors.Add(reg.Path, "the section could not be bound");
        }
        return (values, [.. errors.Items.Select(Redact)]);
    }

    private void EnsureInitialized()
    {
        if (!_initialized)
            Initialize();
    }

    /// <inheritdoc />
    public void Dispose() => _changeSubscription?.Dispose();

    internal interface ISectionHolder
    {
        Action Set(object value);
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Error, "Configuration reload refused ({Count} errors); the last valid configuration stays in effect: {Errors}")]
        public static partial void ReloadRefused(ILogger logger, int count, string errors);

        [LoggerMessage(41, LogLevel.Information, "Configuration reload applied (version {Version})")]
        public static partial void ReloadApplied(ILogger logger, int version);
    }
}
