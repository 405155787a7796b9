using MailOrderBot.Domain;
using MailOrderBot.Module;
using Npgsql;
using NpgsqlTypes;

namespace MailOrderBot.Services;

/// <summary>
/// The order store on PostgreSQL (<c>MailOrderBot:Store:Provider=PostgreSql</c>, <c>MailOrderBot:Store:ConnectionString</c>), for
/// instances on several machines sharing one database. The same tables as <see cref="SqliteOrderStore"/>, <c>orders</c> and
/// <c>order_lines</c>, created on first use in the connection's schema (its <c>Search Path</c>); creation is serialized by an
/// advisory lock, so several processes starting at once do not race. An order and its lines are written in one transaction with
/// <c>INSERT ... ON CONFLICT (message_id) DO NOTHING</c>: a redelivered email, even one handled by another instance at the same
/// moment, never creates a second order. Connection and server failures surface as <see cref="NpgsqlException"/> (with
/// <see cref="NpgsqlException.IsTransient"/>) for the handler to retry.
/// </summary>
public sealed class PostgreSqlOrderStore : IOrderStore, IAsyncDisposable, IDisposable
{
    private const string SchemaScript = """
        SELECT pg_advisory_xact_lock(hashtext('mailorderbot-store-schema:' || coalesce(current_schema(), '')));
        CREATE TABLE IF NOT EXISTS orders(
            message_id text PRIMARY KEY,
            status text CHECK (status IN ('accepted','rejected')),
            customer text,
            reason text,
            total_cents bigint,
            received_at timestamptz);
        CREATE TABLE IF NOT EXISTS order_lines(
            message_id text,
            sku text,
            quantity bigint,
            unit_price_cents bigint);
        CREATE INDEX IF NOT EXISTS order_lines_message_id ON order_lines(message_id);
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private volatile bool _schemaReady;

    /// <summary>Connects (lazily, on first use) to the database of <c>MailOrderBot:Store:ConnectionString</c>.</summary>
    public PostgreSqlOrderStore(MailOrderBotSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrWhiteSpace(settings.Store.ConnectionString, "MailOrderBot:Store:ConnectionString");
        // The slim builder: only the core type handlers (text, integers, timestamps), no reflection, native-AOT clean.
        _dataSource = new NpgsqlSlimDataSourceBuilder(settings.Store.ConnectionString).Build();
        var builder = new NpgsqlConnectionStringBuilder(settings.Store.ConnectionString);
        Description = $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}" + (string.IsNullOrEmpty(builder.SearchPath) ? "" : $" schema {builder.SearchPath}");
    }

    /// <summary>Where the orders are, without secrets: host, port, database and schema.</summary>
    public string Description { get; }

    /// <summary>Null when <paramref name="connectionString"/> is one Npgsql can read, else why not (without quoting it: it may hold a password).</summary>
    public static string? CheckConnectionString(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) ? "has no Host." : null;
        }
        catch (ArgumentException ex)
        {
            // Npgsql names the unknown keyword or the bad value's keyword, never the whole string.
            return $"is not a valid PostgreSQL connection string: {AppRuntime.ConfigRedaction.RedactValue(ex.Message)}";
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        await EnsureSchemaAsync(cancellationToken);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var insert = new NpgsqlCommand(
            "INSERT INTO orders(message_id, status, customer, reason, total_cents, received_at) VALUES ($1, $2, $3, $4, $5, $6) " +
            "ON CONFLICT (message_id) DO NOTHING", connection, transaction))
        {
            insert.Parameters.Add(Text(outcome.MessageId));
            insert.Parameters.Add(Text(outcome.Status == OrderStatus.Accepted ? "accepted" : "rejected"));
            insert.Parameters.Add(Text(outcome.Customer));
            insert.Parameters.Add(Text(outcome.Reason));
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = outcome.TotalCents, NpgsqlDbType = NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = outcome.ReceivedAt.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                // Another transaction (here or in another instance) stored this Message-ID first: a redelivery.
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }

        if (outcome.Lines.Count > 0)
        {
            await using var batch = new NpgsqlBatch(connection, transaction);
            foreach (var line in outcome.Lines)
            {
                var command = new NpgsqlBatchCommand("INSERT INTO order_lines(message_id, sku, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)");
                command.Parameters.Add(Text(outcome.MessageId));
                command.Parameters.Add(Text(line.Sku));
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = line.Quantity, NpgsqlDbType = NpgsqlDbType.Bigint });
                command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = line.UnitPriceCents, NpgsqlDbType = NpgsqlDbType.Bigint });
                batch.BatchCommands.Add(command);
            }
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand(
            "SELECT count(*) FILTER (WHERE status = 'accepted'), count(*) FILTER (WHERE status = 'rejected'), " +
            "COALESCE(SUM(total_cents) FILTER (WHERE status = 'accepted'), 0)::bigint FROM orders");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new OrderSummary(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>
    /// Creates the tables when missing. Idempotent; the advisory lock (held until the transaction ends) serializes creators in
    /// several processes, because two concurrent <c>CREATE TABLE IF NOT EXISTS</c> of the same table can otherwise fail with a
    /// unique violation in the catalog. A failure leaves the store unready, so the next call tries again.
    /// </summary>
    internal async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_schemaReady)
            return;
        await _schemaLock.WaitAsync(cancellationToken);
        try
        {
            if (_schemaReady)
                return;
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var command = new NpgsqlCommand(SchemaScript, connection, transaction))
                await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            _schemaReady = true;
        }
        finally
        {
            _schemaLock.Release();
        }
    }

    /// <summary>Closes the pooled connections.</summary>
    public ValueTask DisposeAsync()
    {
        _schemaLock.Dispose();
        return _dataSource.DisposeAsync();
    }

    /// <summary>Closes the pooled connections.</summary>
    public void Dispose()
    {
        _schemaLock.Dispose();
        _dataSource.Dispose();
    }

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };
}
