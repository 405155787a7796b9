using AppRuntime.Configuration.Internal;
using AppRuntime.Configuration.Sqlite.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Configuration.Sqlite;

/// <summary>
/// The embedded database configuration loader (seed: database config loader): reads a SQLite settings table at the
/// <see cref="ConfigLayer.Database"/> layer and reloads when its change counter moves. The schema (created when missing):
/// <code>
/// CREATE TABLE appruntime_settings (key TEXT NOT NULL PRIMARY KEY, value TEXT NULL,
///                                   version INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
/// CREATE TABLE appruntime_settings_version (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
/// -- triggers after INSERT, UPDATE OF key/value and DELETE on appruntime_settings add one to the counter and stamp the row
/// </code>
/// Keys are full configuration paths (<c>Mail:Imap:Host</c>); a NULL value is treated as absent. Any plain
/// <c>INSERT</c>/<c>UPDATE</c>/<c>DELETE</c> moves the counter, so nobody has to maintain versions by hand.
/// </summary>
public sealed class SqliteConfigProvider : IConfigProvider
{
    private readonly string _connectionString;
    private readonly DatabaseConfigState _state;

    /// <summary>Creates the loader.</summary>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=/var/lib/app/config.db</c>.</param>
    /// <param name="options">Table, polling, clock and logging; defaults when null.</param>
    public SqliteConfigProvider(string connectionString, SqliteConfigOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        Options = options ?? new SqliteConfigOptions();
        TableNames.Validate(Options.TableName, nameof(options));
        if (Options.PollInterval <= TimeSpan.Zero && Options.PollInterval != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(options), Options.PollInterval, "The poll interval must be positive (or Timeout.InfiniteTimeSpan to turn polling off).");
        ArgumentNullException.ThrowIfNull(Options.TimeProvider, nameof(options));
        ArgumentNullException.ThrowIfNull(Options.LoggerFactory, nameof(options));
        _connectionString = connectionString;
        Name = "sqlite:" + ConfigRedaction.RedactConnectionString(connectionString);
        _state = new DatabaseConfigState(Name);
    }

    /// <summary>The loader's settings.</summary>
    public SqliteConfigOptions Options { get; }

    /// <inheritdoc />
    /// <remarks><c>sqlite:</c> followed by the connection string with any password redacted.</remarks>
    public string Name { get; }

    /// <inheritdoc />
    public ConfigLayer Layer => ConfigLayer.Database;

    /// <summary>The change counter of the values currently served (-1 before the first load).</summary>
    public long Version => _state.Version;

    /// <summary>Why the last read of the database failed, or null when it succeeded.</summary>
    public string? LastError => _state.LastError;

    /// <inheritdoc />
    public IConfigurationSource CreateSource() => new SqliteConfigurationSource(this);

    /// <summary>Creates the settings table, its change counter and triggers when missing. Safe to call any number of times.</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            SqliteSchema.Ensure(connection, Options.TableName);
        }
    }

    /// <summary>A readiness contributor that is Degraded while the database cannot be read.</summary>
    internal IHealthContributor CreateHealthContributor() => new DatabaseConfigHealthContributor("configuration-sqlite", _state);

    private sealed class SqliteConfigurationSource(SqliteConfigProvider owner) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) =>
            new SqliteConfigurationProvider(owner._connectionString, owner.Options, owner._state,
                owner.Options.LoggerFactory.CreateLogger("AppRuntime.Configuration.Sqlite"));
    }
}
