using AppRuntime.Configuration.Internal;
using AppRuntime.Configuration.PostgreSql.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AppRuntime.Configuration.PostgreSql;

/// <summary>
/// A database configuration loader for several instances sharing one configuration: reads a PostgreSQL settings table at the
/// <see cref="ConfigLayer.Database"/> layer, listens for the table's NOTIFY and polls its change counter as a safety net. The
/// schema (created by <see cref="EnsureSchemaAsync(CancellationToken)"/>, idempotent):
/// <code>
/// CREATE TABLE appruntime_settings (key text PRIMARY KEY, value text NULL,
///                                   version bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now());
/// CREATE TABLE appruntime_settings_version (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);
/// -- BEFORE INSERT OR UPDATE OR DELETE row trigger appruntime_settings_changed: counter + 1, row stamped,
/// -- pg_notify('appruntime_settings', '')
/// </code>
/// Keys are full configuration paths (<c>Mail:Imap:Host</c>); a NULL value is treated as absent.
/// </summary>
public sealed class PostgreSqlConfigProvider : IConfigProvider
{
    private readonly string _connectionString;
    private readonly DatabaseConfigState _state;

    /// <summary>Creates the loader.</summary>
    /// <param name="connectionString">An Npgsql connection string, e.g. <c>Host=db;Database=app;Username=app;Password=…</c>.</param>
    /// <param name="options">Table, polling, notifications, clock and logging; defaults when null.</param>
    public PostgreSqlConfigProvider(string connectionString, PostgreSqlConfigOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        Options = options ?? new PostgreSqlConfigOptions();
        TableNames.Validate(Options.TableName, nameof(options));
        if (Options.PollInterval <= TimeSpan.Zero && Options.PollInterval != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(options), Options.PollInterval, "The poll interval must be positive (or Timeout.InfiniteTimeSpan to turn polling off).");
        if (Options.ReconnectDelay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), Options.ReconnectDelay, "The reconnect delay must not be negative.");
        ArgumentNullException.ThrowIfNull(Options.TimeProvider, nameof(options));
        ArgumentNullException.ThrowIfNull(Options.LoggerFactory, nameof(options));
        _connectionString = connectionString;
        Name = "postgresql:" + ConfigRedaction.RedactConnectionString(connectionString);
        _state = new DatabaseConfigState(Name);
    }

    /// <summary>The loader's settings.</summary>
    public PostgreSqlConfigOptions Options { get; }

    /// <inheritdoc />
    /// <remarks><c>postgresql:</c> followed by the connection string with the password redacted.</remarks>
    public string Name { get; }

    /// <inheritdoc />
    public ConfigLayer Layer => ConfigLayer.Database;

    /// <summary>The change counter of the values currently served (-1 before the first load).</summary>
    public long Version => _state.Version;

    /// <summary>Why the last read of the database failed, or null when it succeeded.</summary>
    public string? LastError => _state.LastError;

    /// <summary>True while the LISTEN connection is open.</summary>
    public bool IsListening => _state.Listening;

    /// <inheritdoc />
    public IConfigurationSource CreateSource() => new PostgreSqlConfigurationSource(this);

    /// <summary>
    /// Creates the settings table, its change counter, the trigger function and the trigger when missing. Idempotent and safe
    /// when several instances run it at once (an advisory lock serializes them).
    /// </summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        var dataSource = CreateDataSource(_connectionString);
        await using (dataSource.ConfigureAwait(false))
            await PostgreSqlSchema.EnsureAsync(dataSource, Options.TableName, Options.Channel, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A readiness contributor that is Degraded while the database cannot be read.</summary>
    internal IHealthContributor CreateHealthContributor() => new DatabaseConfigHealthContributor("configuration-postgresql", _state);

    internal static NpgsqlDataSource CreateDataSource(string connectionString) => new NpgsqlSlimDataSourceBuilder(connectionString).Build();

    private sealed class PostgreSqlConfigurationSource(PostgreSqlConfigProvider owner) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) =>
            new PostgreSqlConfigurationProvider(CreateDataSource(owner._connectionString), owner.Options, owner._state,
                owner.Options.LoggerFactory.CreateLogger("AppRuntime.Configuration.PostgreSql"));
    }
}
