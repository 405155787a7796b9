using Microsoft.Data.Sqlite;
using Npgsql;

namespace MailOrderBot.Tests;

/// <summary>
/// The bot as an operator runs it (a child process) with <c>MailOrderBot:Store:Provider=PostgreSql</c> against the real server of
/// tests/infra/postgres.sh, compared with the default SQLite store; and the store's configuration mistakes, refused at start.
/// </summary>
public sealed class PostgreSqlBotTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bot-pg-{Guid.NewGuid():N}");

    public PostgreSqlBotTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private string DemoInboxCopy(string name)
    {
        var inbox = Path.Combine(_dir, name);
        Directory.CreateDirectory(inbox);
        foreach (var file in Directory.EnumerateFiles(TestData.DemoInbox, "*.eml"))
            File.Copy(file, Path.Combine(inbox, Path.GetFileName(file)));
        return inbox;
    }

    [Fact]
    public async Task The_demo_inbox_on_postgresql_gives_the_same_orders_as_on_sqlite()
    {
        await using var db = await PostgresSchema.CreateAsync();
        // The test server trusts loopback, so the password is never sent; it is here to show it is never printed either.
        var connectionString = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Password = "pg-secret-demo-1" }.ConnectionString;

        var (pgExit, pgOut, pgErr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Folder__Path"] = DemoInboxCopy("pg-inbox"),
            ["MailOrderBot__Store__Provider"] = "PostgreSql",
            ["MailOrderBot__Store__ConnectionString"] = connectionString,
        }, TimeSpan.FromSeconds(120), "--once");
        var sqlitePath = Path.Combine(_dir, "orders.db");
        var (liteExit, liteOut, liteErr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Folder__Path"] = DemoInboxCopy("sqlite-inbox"),
            ["MailOrderBot__Store__Path"] = sqlitePath,
        }, TimeSpan.FromSeconds(120), "--once");

        Assert.True(pgExit == 0, $"exit code {pgExit}; stdout: {pgOut}; stderr: {pgErr}");
        Assert.True(liteExit == 0, $"exit code {liteExit}; stdout: {liteOut}; stderr: {liteErr}");
        Assert.Contains("this run: 12 accepted, 6 rejected, 1 already stored", pgOut, StringComparison.Ordinal);
        Assert.Contains($"(PostgreSQL 127.0.0.1:55432/appruntime schema {db.Name})", pgOut, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret-demo-1", pgOut + pgErr, StringComparison.Ordinal);

        const string Counts = "SELECT status, count(*), sum(total_cents) FROM orders GROUP BY status ORDER BY status";
        var postgres = (await db.QueryAsync(Counts)).Select(r => $"{r[0]} {r[1]} {r[2]}").ToList();
        var sqlite = SqliteRows(sqlitePath, Counts);
        Assert.Equal(["accepted 12 75270", "rejected 6 0"], postgres);
        Assert.Equal(postgres, sqlite);
        Assert.Equal(SqliteRows(sqlitePath, "SELECT count(*) FROM order_lines")[0], (await db.ScalarAsync("SELECT count(*) FROM order_lines")).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, await db.ScalarAsync("SELECT count(*) FROM (SELECT message_id FROM orders GROUP BY message_id HAVING count(*) > 1) d"));
    }

    [Theory]
    [InlineData("Mysql")]
    [InlineData("1")]
    public async Task An_unknown_provider_is_refused_at_start_naming_the_key_and_the_allowed_values(string provider)
    {
        var (exitCode, stdout, stderr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Store__Provider"] = provider,
            ["MailOrderBot__Store__Path"] = Path.Combine(_dir, "orders.db"),
        }, TimeSpan.FromSeconds(60), "--once");

        Assert.True(exitCode == 78, $"exit code {exitCode}; stderr: {stderr}; stdout: {stdout}");
        Assert.Contains($"MailOrderBot:Store:Provider: '{provider}' is not a store provider; use Sqlite or PostgreSql.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "orders.db")));
    }

    [Fact]
    public async Task Postgresql_without_a_connection_string_is_refused_at_start_naming_the_key()
    {
        var (exitCode, stdout, stderr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Store__Provider"] = "postgresql",
        }, TimeSpan.FromSeconds(60), "--once");

        Assert.True(exitCode == 78, $"exit code {exitCode}; stderr: {stderr}; stdout: {stdout}");
        Assert.Contains("MailOrderBot:Store:ConnectionString: is required when MailOrderBot:Store:Provider is PostgreSql", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_string_npgsql_cannot_read_is_refused_at_start_without_showing_it()
    {
        var (exitCode, stdout, stderr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Store__Provider"] = "PostgreSql",
            ["MailOrderBot__Store__ConnectionString"] = "Host=127.0.0.1;Password=pg-secret-bad-2;Colour=blue",
        }, TimeSpan.FromSeconds(60), "--once");

        Assert.True(exitCode == 78, $"exit code {exitCode}; stderr: {stderr}; stdout: {stdout}");
        Assert.Contains("MailOrderBot:Store:ConnectionString: is not a valid PostgreSQL connection string", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret-bad-2", stdout + stderr, StringComparison.Ordinal);
    }

    private static List<string> SqliteRows(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add(string.Join(' ', Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        return rows;
    }
}
