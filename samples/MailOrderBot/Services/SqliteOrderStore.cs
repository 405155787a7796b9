using System.Globalization;
using AppRuntime;
using MailOrderBot.Domain;
using MailOrderBot.Module;
using Microsoft.Data.Sqlite;

namespace MailOrderBot.Services;

/// <summary>
/// The order store on SQLite (<c>MailOrderBot:Store:Path</c>): tables <c>orders</c> and <c>order_lines</c>. An order and its lines
/// are written in one transaction with <c>INSERT OR IGNORE</c> on the Message-ID primary key, so a redelivered email never creates
/// a second order. Several processes on one machine can share the file: the database is in WAL mode (readers never block the
/// writer) and a connection waiting for the write lock waits up to <c>MailOrderBot:Store:BusyTimeout</c> (SQLite's
/// <c>busy_timeout</c>, and Microsoft.Data.Sqlite's own retry of busy statements for the same time). Busy/locked errors beyond
/// that surface as <see cref="SqliteException"/> for the handler to retry. Chosen by <see cref="OrderStore"/>
/// (<c>MailOrderBot:Store:Provider=Sqlite</c>, the default).
/// </summary>
public sealed class SqliteOrderStore : IOrderStore
{
    private readonly string _connectionString;
    private readonly string _busyTimeoutPragma;
    private volatile bool _schemaReady;

    /// <summary>Opens (and creates when missing) the database named by <c>MailOrderBot:Store:Path</c>.</summary>
    public SqliteOrderStore(MailOrderBotSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrEmpty(settings.Store.Path);
        Path = System.IO.Path.GetFullPath(ResolvePath(settings.Store.Path));
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy statement (every 150 ms) until this many seconds have passed...
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(settings.Store.BusyTimeout.TotalSeconds)),
        }.ToString();
        // ...but it does not set SQLite's own busy handler, which waits inside SQLite and takes the lock as soon as it is free.
        var busyMilliseconds = (long)Math.Clamp(settings.Store.BusyTimeout.TotalMilliseconds, 1, int.MaxValue);
        _busyTimeoutPragma = string.Create(CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = {busyMilliseconds};");
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public async ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        await using var connection = await OpenAsync(cancellationToken);
        // BEGIN IMMEDIATE: take the write lock up front, so a busy database fails here (and is retried) rather than mid-way.
        await using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);

        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText =
                "INSERT OR IGNORE INTO orders(message_id, status, customer, reason, total_cents, received_at) " +
                "VALUES ($id, $status, $customer, $reason, $total, $received)";
            insert.Parameters.AddWithValue("$id", outcome.MessageId);
            insert.Parameters.AddWithValue("$status", outcome.Status == OrderStatus.Accepted ? "accepted" : "rejected");
            insert.Parameters.AddWithValue("$customer", (object?)outcome.Customer ?? DBNull.Value);
            insert.Parameters.AddWithValue("$reason", (object?)outcome.Reason ?? DBNull.Value);
            insert.Parameters.AddWithValue("$total", outcome.TotalCents);
            insert.Parameters.AddWithValue("$received", outcome.ReceivedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false; // already stored: a redelivery
            }
        }

        foreach (var line in outcome.Lines)
        {
            await using var insertLine = connection.CreateCommand();
            insertLine.Transaction = transaction;
            insertLine.CommandText = "INSERT INTO order_lines(message_id, sku, quantity, unit_price_cents) VALUES ($id, $sku, $qty, $price)";
            insertLine.Parameters.AddWithValue("$id", outcome.MessageId);
            insertLine.Parameters.AddWithValue("$sku", line.Sku);
            insertLine.Parameters.AddWithValue("$qty", line.Quantity);
            insertLine.Parameters.AddWithValue("$price", line.UnitPriceCents);
            await insertLine.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT COALESCE(SUM(status = 'accepted'), 0), COALESCE(SUM(status = 'rejected'), 0), " +
            "COALESCE(SUM(CASE WHEN status = 'accepted' THEN total_cents END), 0) FROM orders";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new OrderSummary(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Opens a connection with the busy timeout set (and the schema created on first use).</summary>
    internal async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using (var pragma = connection.CreateCommand())
            {
                pragma.CommandText = _busyTimeoutPragma; // per connection; a pooled connection keeps it, setting it again is cheap
                await pragma.ExecuteNonQueryAsync(cancellationToken);
            }
            if (!_schemaReady)
                await EnsureSchemaAsync(connection, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task EnsureSchemaAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        // Idempotent DDL: two first callers racing here (in this process or another) both succeed, the second waiting for the
        // first's write lock. WAL is a property of the file: set once, it stays for every later connection and process.
        await using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS orders(
                message_id TEXT PRIMARY KEY,
                status TEXT CHECK(status IN ('accepted','rejected')),
                customer TEXT,
                reason TEXT,
                total_cents INTEGER,
                received_at TEXT);
            CREATE TABLE IF NOT EXISTS order_lines(
                message_id TEXT,
                sku TEXT,
                quantity INTEGER,
                unit_price_cents INTEGER);
            CREATE INDEX IF NOT EXISTS order_lines_message_id ON order_lines(message_id);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
        _schemaReady = true;
    }

    private static string ResolvePath(string path) =>
        System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(AppContext.BaseDirectory, path);
}
