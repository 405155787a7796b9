using AppRuntime.Configuration.Internal;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Configuration.Sqlite.Internal;

/// <summary>Reads the SQLite settings table; one short-lived connection per read (Microsoft.Data.Sqlite pools them).</summary>
internal sealed class SqliteConfigurationProvider(string connectionString, SqliteConfigOptions options, DatabaseConfigState state, ILogger logger)
    : DatabaseConfigurationProvider(state, options.PollInterval, options.CreateTableIfMissing, options.TimeProvider, logger)
{
    private readonly string _table = options.TableName;

    protected override void EnsureSchema()
    {
        using var connection = Open();
        SqliteSchema.Ensure(connection, _table);
    }

    protected override long ReadVersion()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""SELECT version FROM "{_table}_version" WHERE id = 1""";
        return command.ExecuteScalar() is long version ? version : 0;
    }

    protected override DatabaseSnapshot ReadSnapshot()
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""SELECT version FROM "{_table}_version" WHERE id = 1""";
        var version = command.ExecuteScalar() is long v ? v : 0;
        command.CommandText = $"""SELECT key, value FROM "{_table}" WHERE value IS NOT NULL""";
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
                values[reader.GetString(0)] = reader.GetString(1);
        }
        transaction.Commit();
        return new DatabaseSnapshot(version, values);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
