using Npgsql;

namespace AppRuntime.Tests.Shared;

/// <summary>
/// Shared by the test projects that use PostgreSQL (linked into each). A schema of its own per test on the real PostgreSQL server of tests/infra/postgres.sh (so tests run in parallel and leave
/// nothing behind): <see cref="ConnectionString"/> points the bot's store at it through <c>Search Path</c>. A server that does not
/// answer fails the test with how to start it.
/// </summary>
internal sealed class PostgresSchema : IAsyncDisposable
{
    public const string DefaultServer = "Host=127.0.0.1;Port=55432;Username=postgres;Database=appruntime";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresSchema(NpgsqlDataSource dataSource, string name)
    {
        _dataSource = dataSource;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(Server) { SearchPath = name }.ConnectionString;
    }

    public static string Server =>
        Environment.GetEnvironmentVariable("APPRUNTIME_POSTGRES") is { Length: > 0 } configured ? configured : DefaultServer;

    public string Name { get; }

    /// <summary>The server's connection string with <c>Search Path</c> set to this schema.</summary>
    public string ConnectionString { get; }

    public static async Task<PostgresSchema> CreateAsync()
    {
        var dataSource = NpgsqlDataSource.Create(Server);
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            await using var command = dataSource.CreateCommand($"CREATE SCHEMA \"{name}\"");
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await dataSource.DisposeAsync();
            throw new InvalidOperationException($"PostgreSQL is not reachable at '{Server}' ({ex.Message}); start it with: bash tests/infra/postgres.sh start", ex);
        }
        return new PostgresSchema(dataSource, name);
    }

    /// <summary>Runs <paramref name="sql"/> on a connection of its own (not the store's), in this schema, and returns every row.</summary>
    public async Task<List<object?[]>> QueryAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public async Task<long> ScalarAsync(string sql) => Convert.ToInt64((await QueryAsync(sql))[0][0], System.Globalization.CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{Name}\" CASCADE");
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            await _dataSource.DisposeAsync();
        }
    }
}
