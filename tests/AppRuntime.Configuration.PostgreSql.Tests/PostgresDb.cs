using Npgsql;

namespace AppRuntime.Configuration.PostgreSql.Tests;

/// <summary>
/// The real PostgreSQL server of tests/infra/postgres.sh, with a settings table of its own per test (so tests run in parallel
/// and leave nothing behind). A server that does not answer fails the test with how to start it.
/// </summary>
internal sealed class PostgresDb : IAsyncDisposable
{
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=55432;Username=postgres;Database=appruntime";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresDb(string connectionString, NpgsqlDataSource dataSource)
    {
        ConnectionString = connectionString;
        _dataSource = dataSource;
    }

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("APPRUNTIME_POSTGRES") is { Length: > 0 } configured ? configured : DefaultConnectionString;

    public string ConnectionString { get; }

    public string Table { get; } = "cfg_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Connects to the test server (failing with instructions when it is not running) and creates this test's table.</summary>
    public static async Task<PostgresDb> CreateAsync(bool createSchema = true)
    {
        var connectionString = ServerConnectionString;
        var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using var probe = await dataSource.OpenConnectionAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await dataSource.DisposeAsync();
            throw new InvalidOperationException(
                $"PostgreSQL is not reachable at '{connectionString}' ({ex.Message}); start it with: bash tests/infra/postgres.sh start", ex);
        }
        var db = new PostgresDb(connectionString, dataSource);
        if (createSchema)
            await db.Provider().EnsureSchemaAsync(CancellationToken.None);
        return db;
    }

    /// <summary>A provider for this test's table (not registered anywhere).</summary>
    public PostgreSqlConfigProvider Provider(Action<PostgreSqlConfigOptions>? configure = null)
    {
        var options = new PostgreSqlConfigOptions { TableName = Table };
        configure?.Invoke(options);
        return new PostgreSqlConfigProvider(ConnectionString, options);
    }

    public Task SetAsync(string key, string? value) =>
        ExecuteAsync($"""INSERT INTO "{Table}" (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value""", key, value);

    public Task DeleteAsync(string key) => ExecuteAsync($"""DELETE FROM "{Table}" WHERE key = $1""", key);

    public async Task<long> ScalarAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql, params string?[] parameters)
    {
        await using var command = _dataSource.CreateCommand(sql);
        foreach (var p in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)p ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ExecuteAsync($"""
                DROP TABLE IF EXISTS "{Table}";
                DROP TABLE IF EXISTS "{Table}_version";
                DROP FUNCTION IF EXISTS "{Table}_changed"();
                """);
        }
        finally
        {
            await _dataSource.DisposeAsync();
        }
    }
}
