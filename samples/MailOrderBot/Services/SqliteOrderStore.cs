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
    private readonly Lock _queueLock = new();
    private readonly List<PendingSave> _queued = [];
    private bool _writing;
    private long _transactions;
    private long _batchedOrders;

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

    /// <summary>
    /// Stores the outcome (see <see cref="IOrderStore.SaveAsync"/>). Saves that arrive while another save is writing are written
    /// together, up to <see cref="MaxBatch"/> orders per transaction (group commit: one SQLite commit, one fsync, for all of them),
    /// each order in its own savepoint: an order whose statements fail is rolled back alone and its caller gets the error (the
    /// email is then retried or dead-lettered on its own), while the others commit. A failed commit fails every save of the
    /// transaction, and each email is retried on its own.
    /// </summary>
    public async ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        cancellationToken.ThrowIfCancellationRequested();
        var save = new PendingSave(outcome);
        bool lead;
        lock (_queueLock)
        {
            _queued.Add(save);
            lead = !_writing;
            _writing = true;
        }
        if (lead)
            _ = WriteQueuedAsync();
        // Not cancelled once queued: the batch may already be writing it (a redelivery after a stop finds it stored).
        return await save.Result.Task.ConfigureAwait(false);
    }

    /// <summary>The most orders written in one transaction.</summary>
    internal const int MaxBatch = 64;

    /// <summary>Transactions written and orders they carried (for tests and benchmarks).</summary>
    internal (long Transactions, long Orders) Batches => (Interlocked.Read(ref _transactions), Interlocked.Read(ref _batchedOrders));

    /// <summary>True while a transaction is being written (for tests).</summary>
    internal bool Writing
    {
        get
        {
            lock (_queueLock)
                return _writing;
        }
    }

    /// <summary>Saves waiting for the next transaction (for tests).</summary>
    internal int Queued
    {
        get
        {
            lock (_queueLock)
                return _queued.Count;
        }
    }

    /// <summary>Writes transactions until no save is waiting; never throws (every failure goes to the saves it concerns).</summary>
    private async Task WriteQueuedAsync()
    {
        for (var first = true; ; first = false)
        {
            List<PendingSave> batch;
            lock (_queueLock)
            {
                if (_queued.Count == 0)
                {
                    _writing = false;
                    return;
                }
                var take = Math.Min(MaxBatch, _queued.Count);
                batch = _queued.GetRange(0, take);
                _queued.RemoveRange(0, take);
            }
            // SQLite runs synchronously: without this, the save that started the loop would write every later batch too before
            // its own caller got control back. A later batch goes on a pool thread.
            if (!first)
                await Task.Yield();
            await WriteBatchAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task WriteBatchAsync(List<PendingSave> batch)
    {
        var outcomes = new (bool Saved, Exception? Error)[batch.Count];
        try
        {
            await using var connection = await OpenAsync(CancellationToken.None);
            // BEGIN IMMEDIATE: take the write lock up front, so a busy database fails here (and is retried) rather than mid-way.
            await using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);
            for (var i = 0; i < batch.Count; i++)
            {
                transaction.Save("o");
                try
                {
                    outcomes[i] = (await InsertAsync(connection, transaction, batch[i].Outcome), null);
                    transaction.Release("o");
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // This order alone: undo its statements, keep the others. When SQLite already rolled the whole transaction
                    // back (a full disk, an I/O error), the savepoint is gone too: then every save of the batch fails with this error.
                    try
                    {
                        transaction.Rollback("o");
                        transaction.Release("o");
                    }
                    catch (SqliteException)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(ex);
                    }
                    outcomes[i] = (false, ex);
                }
            }
            await transaction.CommitAsync(CancellationToken.None);
            Interlocked.Increment(ref _transactions);
            Interlocked.Add(ref _batchedOrders, batch.Count);
        }
#pragma warning disable CA1031 // The failure of the transaction is every save's failure: each caller gets it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            foreach (var save in batch)
                save.Result.TrySetException(ex);
            return;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            if (outcomes[i].Error is { } error)
                batch[i].Result.TrySetException(error);
            else
                batch[i].Result.TrySetResult(outcomes[i].Saved);
        }
    }

    /// <summary>Inserts an order and its lines; false when an order with its Message-ID exists (nothing written).</summary>
    private static async Task<bool> InsertAsync(SqliteConnection connection, SqliteTransaction transaction, OrderOutcome outcome)
    {
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
            if (await insert.ExecuteNonQueryAsync() == 0)
                return false; // already stored: a redelivery
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
            await insertLine.ExecuteNonQueryAsync();
        }
        return true;
    }

    private sealed class PendingSave(OrderOutcome outcome)
    {
        public OrderOutcome Outcome { get; } = outcome;

        // Asynchronous continuations: a caller's continuation must not run on (and hold up) the thread writing the next batch.
        public TaskCompletionSource<bool> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
