// Shared by AppRuntime.Configuration.Sqlite and AppRuntime.Configuration.PostgreSql (through InternalsVisibleTo):
// the database-independent part of a settings-table configuration provider.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Configuration.Internal;

/// <summary>One consistent read of the settings table: the change counter and every key that has a value.</summary>
internal sealed record DatabaseSnapshot(long Version, Dictionary<string, string?> Values);

/// <summary>
/// What every provider instance built from one configuration source shares (Microsoft.Extensions.Configuration rebuilds
/// providers when sources are added): whether the database answers, for health and status.
/// </summary>
internal sealed class DatabaseConfigState(string providerName)
{
    private readonly object _lock = new();
    private string? _lastError;
    private DateTimeOffset? _failingSince;
    private volatile bool _listening;

    /// <summary>The provider's name, secrets redacted.</summary>
    public string ProviderName { get; } = providerName;

    /// <summary>The change counter of the values currently served.</summary>
    public long Version { get; set; } = -1;

    /// <summary>True while a notification connection is open (PostgreSQL LISTEN).</summary>
    public bool Listening
    {
        get => _listening;
        set => _listening = value;
    }

    /// <summary>Why the last read failed, or null when the last read succeeded.</summary>
    public string? LastError
    {
        get
        {
            lock (_lock)
                return _lastError;
        }
    }

    /// <summary>Since when reads fail.</summary>
    public DateTimeOffset? FailingSince
    {
        get
        {
            lock (_lock)
                return _failingSince;
        }
    }

    /// <summary>Records a failed read; returns true when it is the first of a series.</summary>
    public bool Failed(string reason, DateTimeOffset now)
    {
        lock (_lock)
        {
            var first = _lastError is null;
            _lastError = reason;
            _failingSince ??= now;
            return first;
        }
    }

    /// <summary>Records a successful read; returns true when it ends a series of failures.</summary>
    public bool Succeeded()
    {
        lock (_lock)
        {
            var recovered = _lastError is not null;
            _lastError = null;
            _failingSince = null;
            return recovered;
        }
    }
}

/// <summary>Reports Degraded while the settings database cannot be read (the last values stay in effect meanwhile).</summary>
internal sealed class DatabaseConfigHealthContributor(string name, DatabaseConfigState state) : IHealthContributor
{
    public string Name { get; } = name;

    public HealthScope Scope => HealthScope.Readiness;

    public ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken)
    {
        var error = state.LastError;
        return ValueTask.FromResult(error is null
            ? HealthResult.Healthy()
            : HealthResult.Degraded($"configuration provider '{state.ProviderName}' cannot read its settings since {state.FailingSince:O}; the last values stay in effect: {error}"));
    }
}

/// <summary>
/// A configuration provider over a settings table (key, value, version, updated_at) with a one-row change counter. The first
/// <see cref="Load"/> must succeed (otherwise <see cref="ConfigProviderException"/> names the provider); later reads that fail keep
/// the last values, are logged and retried at the next poll. A changed counter re-reads the table and signals the reload token,
/// which makes AppRuntime's ConfigurationManager validate and apply (or refuse) the new values. Values are never logged.
/// </summary>
internal abstract partial class DatabaseConfigurationProvider : ConfigurationProvider, IDisposable
{
    private readonly object _readLock = new();
    private readonly TimeSpan _pollInterval;
    private ITimer? _timer;
    private int _pollRequests;
    private bool _loaded;
    private bool _schemaReady;
    private long _version = -1;
    private volatile bool _disposed;

    protected DatabaseConfigurationProvider(DatabaseConfigState state, TimeSpan pollInterval, bool ensureSchema, TimeProvider time, ILogger logger)
    {
        State = state;
        _pollInterval = pollInterval;
        _schemaReady = !ensureSchema;
        Time = time;
        Logger = logger;
    }

    protected DatabaseConfigState State { get; }

    protected TimeProvider Time { get; }

    protected ILogger Logger { get; }

    protected bool IsDisposed => _disposed;

    /// <summary>Creates the table, the change counter and its triggers when missing (idempotent).</summary>
    protected abstract void EnsureSchema();

    /// <summary>Reads the change counter.</summary>
    protected abstract long ReadVersion();

    /// <summary>Reads the counter and every key with a value, in one transaction.</summary>
    protected abstract DatabaseSnapshot ReadSnapshot();

    /// <summary>Called once after the first successful load (e.g. to start listening for notifications).</summary>
    protected virtual void OnFirstLoad()
    {
    }

    /// <summary>Releases what the derived provider holds.</summary>
    protected virtual void DisposeCore()
    {
    }

    public override void Load()
    {
        bool first;
        lock (_readLock)
        {
            first = !_loaded;
            try
            {
                if (!_schemaReady)
                {
                    EnsureSchema();
                    _schemaReady = true;
                }
                var snapshot = ReadSnapshot();
                Data = new Dictionary<string, string?>(snapshot.Values, StringComparer.OrdinalIgnoreCase);
                _version = snapshot.Version;
                State.Version = snapshot.Version;
                _loaded = true;
                if (State.Succeeded())
                    Log.Recovered(Logger, State.ProviderName, snapshot.Version);
                if (first)
                    Log.Loaded(Logger, State.ProviderName, snapshot.Values.Count, snapshot.Version);
            }
#pragma warning disable CA1031 // Any failure to read the database is reported: at start as a clear error, later as a logged retry.
            catch (Exception ex) when (ex is not ConfigProviderException)
#pragma warning restore CA1031
            {
                var reason = ConfigRedaction.RedactValue(ex.Message);
                State.Failed(reason, Time.GetUtcNow());
                if (!_loaded)
                {
                    // A provider whose first load failed is never used; release what it holds (PostgreSQL: its data source).
                    Dispose();
                    throw new ConfigProviderException(State.ProviderName, "cannot read the settings: " + reason, ex);
                }
                Log.ReadFailed(Logger, State.ProviderName, _pollInterval, reason);
                return;
            }
        }
        if (first)
        {
            if (_pollInterval > TimeSpan.Zero && _pollInterval != Timeout.InfiniteTimeSpan)
                _timer = Time.CreateTimer(static s => ((DatabaseConfigurationProvider)s!).RequestPoll(), this, _pollInterval, _pollInterval);
            OnFirstLoad();
        }
    }

    /// <summary>
    /// Checks the change counter and reloads when it moved. Concurrent requests (timer, notification) coalesce: while a check
    /// runs, further requests make it run once more, so no change is missed.
    /// </summary>
    protected void RequestPoll()
    {
        if (Interlocked.Increment(ref _pollRequests) != 1)
            return;
        while (true)
        {
            PollOnce();
            if (Interlocked.CompareExchange(ref _pollRequests, 0, 1) == 1)
                return;
            Volatile.Write(ref _pollRequests, 1);
        }
    }

    private void PollOnce()
    {
        if (_disposed)
            return;
        var changed = false;
        lock (_readLock)
        {
            try
            {
                var version = ReadVersion();
                if (version != _version)
                {
                    var snapshot = ReadSnapshot();
                    changed = !SameValues(snapshot.Values);
                    if (changed)
                        Data = new Dictionary<string, string?>(snapshot.Values, StringComparer.OrdinalIgnoreCase);
                    _version = snapshot.Version;
                    State.Version = snapshot.Version;
                    if (changed)
                        Log.Changed(Logger, State.ProviderName, snapshot.Version);
                }
                if (State.Succeeded())
                    Log.Recovered(Logger, State.ProviderName, _version);
            }
#pragma warning disable CA1031 // An unreachable database keeps the last values; the failure is logged and retried at the next poll.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (_disposed)
                    return;
                var reason = ConfigRedaction.RedactValue(ex.Message);
                if (State.Failed(reason, Time.GetUtcNow()))
                    Log.ReadFailed(Logger, State.ProviderName, _pollInterval, reason);
                else
                    Log.StillFailing(Logger, State.ProviderName, reason);
            }
        }
        if (changed && !_disposed)
            OnReload();
    }

    private bool SameValues(Dictionary<string, string?> values)
    {
        var current = Data;
        if (current.Count != values.Count)
            return false;
        foreach (var (key, value) in values)
        {
            if (!current.TryGetValue(key, out var existing) || !string.Equals(existing, value, StringComparison.Ordinal))
                return false;
        }
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _timer?.Dispose();
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public override string ToString() => State.ProviderName;

    private static partial class Log
    {
        [LoggerMessage(700, LogLevel.Information, "Configuration provider {Provider} loaded {Count} key(s) (version {Version})")]
        public static partial void Loaded(ILogger logger, string provider, int count, long version);

        [LoggerMessage(701, LogLevel.Information, "Configuration provider {Provider} saw a change (version {Version}); reloading")]
        public static partial void Changed(ILogger logger, string provider, long version);

        [LoggerMessage(702, LogLevel.Warning, "Configuration provider {Provider} cannot read its settings; the last values stay in effect and it retries every {Interval}: {Reason}")]
        public static partial void ReadFailed(ILogger logger, string provider, TimeSpan interval, string reason);

        [LoggerMessage(703, LogLevel.Debug, "Configuration provider {Provider} still cannot read its settings: {Reason}")]
        public static partial void StillFailing(ILogger logger, string provider, string reason);

        [LoggerMessage(704, LogLevel.Information, "Configuration provider {Provider} reads its settings again (version {Version})")]
        public static partial void Recovered(ILogger logger, string provider, long version);
    }
}
