using Microsoft.Data.Sqlite;

namespace AppRuntime.Configuration.Sqlite.Tests;

/// <summary>A real SQLite file in a temp directory, written to the way an operator would: plain SQL.</summary>
internal sealed class SqliteDb : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appruntime-sqlite-config-").FullName;

    public SqliteDb()
    {
        FilePath = Path.Combine(_dir, "config.db");
        ConnectionString = $"Data Source={FilePath};Pooling=False";
    }

    public string DirectoryPath => _dir;

    public string FilePath { get; }

    public string ConnectionString { get; }

    public string Table { get; init; } = "appruntime_settings";

    /// <summary>Creates the schema the way the provider does.</summary>
    public Task EnsureSchemaAsync() => new SqliteConfigProvider(ConnectionString, new SqliteConfigOptions { TableName = Table }).EnsureSchemaAsync(CancellationToken.None);

    public void Set(string key, string? value) =>
        Execute($"""INSERT INTO "{Table}" (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
            ("$key", key), ("$value", value));

    public void Delete(string key) => Execute($"""DELETE FROM "{Table}" WHERE key = $key""", ("$key", key));

    public long Scalar(string sql)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    public void Execute(string sql, params (string Name, string? Value)[] parameters)
    {
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, (object?)value ?? DBNull.Value);
        command.ExecuteNonQuery();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
