using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;

namespace PaymentNotifier.Services;

/// <summary>What the store knows about a notice or digest it was asked to claim.</summary>
public enum ClaimState
{
    /// <summary>Not sent yet (first claim, or a send that did not finish): send it.</summary>
    Send = 0,

    /// <summary>Sent already: do nothing.</summary>
    AlreadySent = 1,

    /// <summary>Another worker claimed it less than the claim timeout ago and may be sending it now: try again later.</summary>
    Busy = 2,
}

/// <summary>The answer to a claim: what to do, and the token that identifies this claim (to give it back).</summary>
/// <param name="State">What to do.</param>
/// <param name="Token">This claim's token (<see cref="ClaimState.Send"/> only).</param>
public readonly record struct Claim(ClaimState State, string? Token);

/// <summary>What recording an event did.</summary>
/// <param name="IsNew">The event's payment attempt was not recorded before.</param>
/// <param name="InvoicePaid">The event's invoice is paid (after this event, whatever order events came in).</param>
public readonly record struct EventRecord(bool IsNew, bool InvoicePaid);

/// <summary>One failed payment, as the digest lists it.</summary>
public sealed record FailedPayment(string InvoiceId, int Attempt, string CustomerId, string? CustomerEmail, long Amount, string Currency,
    string? Reason, DateTimeOffset OccurredAt);

/// <summary>An invoice as stored.</summary>
public sealed record InvoiceRecord(string InvoiceId, string CustomerId, long AmountDue, string Currency, string Status, int Attempts);

/// <summary>Counts for the demo's summary.</summary>
public sealed record StoreSummary(long Customers, long InvoicesPaid, long InvoicesFailed, long NoticesSent, long DigestsSent);

/// <summary>
/// The notifier's records: customers, invoices, payment attempts, notices and digests, in SQLite (default: an embedded file) or
/// PostgreSQL (<c>PaymentNotifier:Store:Provider=PostgreSql</c>). Both run the same SQL over ADO.NET: the same schema, created and
/// migrated at start (<see cref="MigrateAsync"/>, versions in <c>schema_migrations</c>; serialized across processes by SQLite's write
/// lock or a PostgreSQL advisory lock). Every write is idempotent, so a redelivered task changes nothing:
/// <list type="bullet">
/// <item>a payment attempt is keyed by its event id and by invoice, attempt and outcome (a provider that sends one failure twice with two ids counts once);</item>
/// <item>an invoice's status follows its latest event by the provider's time; <c>paid</c> stays paid;</item>
/// <item>a notice or digest is claimed before it is sent and marked sent after: a claim of one that was sent answers <see cref="ClaimState.AlreadySent"/>, and one that another worker holds answers <see cref="ClaimState.Busy"/>.</item>
/// </list>
/// Times are stored as Unix milliseconds and amounts in minor units, so the two databases agree to the digit.
/// </summary>
[AppRuntime.Service]
public sealed class PaymentStore : IAsyncDisposable, IDisposable
{
    /// <summary>The migrations, in order: version n is <c>Migrations[n - 1]</c>. Plain SQL both databases accept.</summary>
    internal static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS customers(
            customer_id TEXT PRIMARY KEY,
            email TEXT,
            name TEXT,
            updated_at BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS invoices(
            invoice_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            amount_due BIGINT NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('paid','payment_failed')),
            attempts BIGINT NOT NULL,
            updated_at BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS payment_attempts(
            event_id TEXT PRIMARY KEY,
            invoice_id TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('paid','failed')),
            customer_id TEXT NOT NULL,
            amount BIGINT NOT NULL,
            currency TEXT NOT NULL,
            reason TEXT,
            occurred_at BIGINT NOT NULL,
            UNIQUE (invoice_id, attempt, outcome));
        CREATE INDEX IF NOT EXISTS payment_attempts_failed_at ON payment_attempts(outcome, occurred_at);
        CREATE TABLE IF NOT EXISTS notices(
            notice_id TEXT PRIMARY KEY,
            invoice_id TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            recipient TEXT NOT NULL,
            message_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('sending','sent')),
            claim_token TEXT,
            claimed_at BIGINT NOT NULL,
            sent_at BIGINT);
        CREATE TABLE IF NOT EXISTS digests(
            day TEXT PRIMARY KEY,
            recipient TEXT NOT NULL,
            message_id TEXT NOT NULL,
            failed_count BIGINT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('sending','sent')),
            claim_token TEXT,
            claimed_at BIGINT NOT NULL,
            sent_at BIGINT);
        """,
    ];

    private readonly StoreProvider _provider;
    private readonly string? _sqliteConnectionString;
    private readonly string? _sqliteBusyTimeout;
    private readonly NpgsqlDataSource? _postgres;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _migrateLock = new(1, 1);
    private volatile bool _migrated;

    /// <summary>Opens the store of <c>PaymentNotifier:Store</c> (lazily: nothing connects before the first call).</summary>
    public PaymentStore(PaymentNotifierSettings settings, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _time = time;
        _provider = settings.Store.ProviderKind;
        if (_provider == StoreProvider.PostgreSql)
        {
            // The slim builder: only the core type handlers (text, integers), no reflection, native-AOT clean.
            _postgres = new NpgsqlSlimDataSourceBuilder(settings.Store.ConnectionString).Build();
            var builder = new NpgsqlConnectionStringBuilder(settings.Store.ConnectionString);
            Description = $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}" + (string.IsNullOrEmpty(builder.SearchPath) ? "" : $" schema {builder.SearchPath}");
        }
        else
        {
            var path = PaymentNotifierSettings.ResolvePath(settings.Store.Path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            // DefaultTimeout bounds how long Microsoft.Data.Sqlite itself retries a busy statement (30 s otherwise); busy_timeout is SQLite's own wait.
            _sqliteConnectionString = new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                DefaultTimeout = Math.Max(1, (int)Math.Ceiling(settings.Store.BusyTimeout.TotalSeconds)),
            }.ToString();
            _sqliteBusyTimeout = $"PRAGMA busy_timeout = {(long)settings.Store.BusyTimeout.TotalMilliseconds};";
            Description = "SQLite " + path;
        }
    }

    /// <summary>Where the records are, without secrets.</summary>
    public string Description { get; }

    /// <summary>Null when Npgsql can read <paramref name="connectionString"/>, else why not (without quoting it: it may hold a password).</summary>
    public static string? CheckPostgreSqlConnectionString(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrWhiteSpace(builder.Host) ? "has no Host." : null;
        }
        catch (ArgumentException ex)
        {
            return $"is not a valid PostgreSQL connection string: {AppRuntime.ConfigRedaction.RedactValue(ex.Message)}";
        }
    }

    /// <summary>Creates the tables or brings them to the latest version. Runs once per process, at start and before any other call.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        if (_migrated)
            return;
        await _migrateLock.WaitAsync(cancellationToken);
        try
        {
            if (_migrated)
                return;
            await using var connection = await OpenRawAsync(cancellationToken);
            if (_provider == StoreProvider.Sqlite)
                await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken); // a property of the file; outside a transaction
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            if (_provider == StoreProvider.PostgreSql)
                await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext('payment-notifier-schema:' || coalesce(current_schema(), '')));", cancellationToken);
            await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);", cancellationToken);
            long current;
            await using (var read = Command(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
                current = Convert.ToInt64(await read.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            if (current > Migrations.Length)
                throw new InvalidOperationException($"The store ({Description}) is at schema version {current}, newer than this build's {Migrations.Length}; run a newer build.");
            for (var version = current + 1; version <= Migrations.Length; version++)
            {
                await ExecuteAsync(connection, transaction, Migrations[version - 1], cancellationToken);
                await using var record = Command(connection, transaction, "INSERT INTO schema_migrations(version, applied_at) VALUES (@v, @at)");
                Add(record, "@v", version);
                Add(record, "@at", Now());
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            _migrated = true;
        }
        finally
        {
            _migrateLock.Release();
        }
    }

    /// <summary>
    /// Records a payment event: the customer's details, and for an invoice event the attempt and the invoice's status, in one
    /// transaction. <see cref="EventRecord.IsNew"/> when the event's attempt was new (false: this event, or another one for the same
    /// invoice, attempt and outcome, was recorded before); <see cref="EventRecord.InvoicePaid"/> when the invoice is paid after it.
    /// </summary>
    public async Task<EventRecord> RecordEventAsync(PaymentEvent e, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(e);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var at = e.OccurredAt.ToUnixTimeMilliseconds();
        if (e.CustomerEmail is not null || e.CustomerName is not null)
        {
            await using var customer = Command(connection, transaction, """
                INSERT INTO customers(customer_id, email, name, updated_at) VALUES (@id, @email, @name, @at)
                ON CONFLICT (customer_id) DO UPDATE SET
                    email = CASE WHEN excluded.updated_at >= customers.updated_at THEN COALESCE(excluded.email, customers.email) ELSE customers.email END,
                    name = CASE WHEN excluded.updated_at >= customers.updated_at THEN COALESCE(excluded.name, customers.name) ELSE customers.name END,
                    updated_at = CASE WHEN excluded.updated_at > customers.updated_at THEN excluded.updated_at ELSE customers.updated_at END
                """);
            Add(customer, "@id", e.CustomerId);
            Add(customer, "@email", e.CustomerEmail);
            Add(customer, "@name", e.CustomerName);
            Add(customer, "@at", at);
            await customer.ExecuteNonQueryAsync(cancellationToken);
        }
        var isNew = false;
        var paid = false;
        if (e.InvoiceId is not null && e.Type is PaymentEventTypes.InvoicePaid or PaymentEventTypes.InvoicePaymentFailed)
        {
            var isPaidEvent = e.Type == PaymentEventTypes.InvoicePaid;
            await using (var attempt = Command(connection, transaction, """
                INSERT INTO payment_attempts(event_id, invoice_id, attempt, outcome, customer_id, amount, currency, reason, occurred_at)
                VALUES (@event, @invoice, @attempt, @outcome, @customer, @amount, @currency, @reason, @at)
                ON CONFLICT DO NOTHING
                """))
            {
                Add(attempt, "@event", e.EventId);
                Add(attempt, "@invoice", e.InvoiceId);
                Add(attempt, "@attempt", (long)e.Attempt);
                Add(attempt, "@outcome", isPaidEvent ? "paid" : "failed");
                Add(attempt, "@customer", e.CustomerId);
                Add(attempt, "@amount", e.AmountDue);
                Add(attempt, "@currency", e.Currency ?? "");
                Add(attempt, "@reason", e.FailureReason);
                Add(attempt, "@at", at);
                isNew = await attempt.ExecuteNonQueryAsync(cancellationToken) > 0;
            }
            await using var invoice = Command(connection, transaction, """
                INSERT INTO invoices(invoice_id, customer_id, amount_due, currency, status, attempts, updated_at)
                VALUES (@invoice, @customer, @amount, @currency, @status, @attempt, @at)
                ON CONFLICT (invoice_id) DO UPDATE SET
                    status = CASE WHEN invoices.status = 'paid' THEN 'paid'
                                  WHEN excluded.status = 'paid' OR excluded.updated_at >= invoices.updated_at THEN excluded.status
                                  ELSE invoices.status END,
                    attempts = CASE WHEN excluded.attempts > invoices.attempts THEN excluded.attempts ELSE invoices.attempts END,
                    amount_due = CASE WHEN excluded.updated_at >= invoices.updated_at THEN excluded.amount_due ELSE invoices.amount_due END,
                    currency = CASE WHEN excluded.updated_at >= invoices.updated_at THEN excluded.currency ELSE invoices.currency END,
                    updated_at = CASE WHEN excluded.updated_at > invoices.updated_at THEN excluded.updated_at ELSE invoices.updated_at END
                """);
            Add(invoice, "@invoice", e.InvoiceId);
            Add(invoice, "@customer", e.CustomerId);
            Add(invoice, "@amount", e.AmountDue);
            Add(invoice, "@currency", e.Currency ?? "");
            Add(invoice, "@status", isPaidEvent ? "paid" : "payment_failed");
            Add(invoice, "@attempt", (long)e.Attempt);
            Add(invoice, "@at", at);
            await invoice.ExecuteNonQueryAsync(cancellationToken);
            await using var status = Command(connection, transaction, "SELECT status FROM invoices WHERE invoice_id = @invoice");
            Add(status, "@invoice", e.InvoiceId);
            paid = (string?)await status.ExecuteScalarAsync(cancellationToken) == "paid";
        }
        await transaction.CommitAsync(cancellationToken);
        return new EventRecord(isNew, paid);
    }

    /// <summary>An invoice, or null.</summary>
    public async Task<InvoiceRecord?> GetInvoiceAsync(string invoiceId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT invoice_id, customer_id, amount_due, currency, status, attempts FROM invoices WHERE invoice_id = @id");
        Add(command, "@id", invoiceId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new InvoiceRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), (int)reader.GetInt64(5))
            : null;
    }

    /// <summary>
    /// Claims a notice before it is sent: <see cref="ClaimState.Send"/> for the first claim and for a claim older than
    /// <paramref name="claimTimeout"/> that was never marked sent (its send failed or its process died; the notice keeps its
    /// Message-ID); <see cref="ClaimState.AlreadySent"/> once it was sent; <see cref="ClaimState.Busy"/> while another worker's
    /// claim is younger than the timeout.
    /// </summary>
    public Task<Claim> ClaimNoticeAsync(DunningNotice notice, string messageId, TimeSpan claimTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        return ClaimAsync("notices", "notice_id",
            "INSERT INTO notices(notice_id, invoice_id, attempt, recipient, message_id, state, claim_token, claimed_at) VALUES (@id, @invoice, @attempt, @recipient, @message, 'sending', @token, @at) ON CONFLICT DO NOTHING",
            command =>
            {
                Add(command, "@id", notice.NoticeId);
                Add(command, "@invoice", notice.InvoiceId);
                Add(command, "@attempt", (long)notice.Attempt);
                Add(command, "@recipient", notice.Recipient);
                Add(command, "@message", messageId);
            }, notice.NoticeId, claimTimeout, cancellationToken);
    }

    /// <summary>Marks a notice sent (whoever holds the claim now: it was sent).</summary>
    public Task MarkNoticeSentAsync(string noticeId, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE notices SET state = 'sent', sent_at = @at WHERE notice_id = @id", noticeId, cancellationToken);

    /// <summary>
    /// Gives back this worker's claim on a notice that was certainly not sent, so that its next attempt (here or on another
    /// instance) can send it at once. A claim another worker has taken over since is left alone.
    /// </summary>
    public Task ReleaseNoticeClaimAsync(string noticeId, string token, CancellationToken cancellationToken) =>
        ReleaseAsync("notices", "notice_id", noticeId, token, cancellationToken);

    /// <summary>Gives back this worker's claim on a digest that was certainly not sent.</summary>
    public Task ReleaseDigestClaimAsync(DateOnly day, string token, CancellationToken cancellationToken) =>
        ReleaseAsync("digests", "day", day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), token, cancellationToken);

    private async Task ReleaseAsync(string table, string keyColumn, string key, string token, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"UPDATE {table} SET claimed_at = 0, claim_token = NULL WHERE {keyColumn} = @id AND state = 'sending' AND claim_token = @token");
        Add(command, "@id", key);
        Add(command, "@token", token);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Claims the digest of a day before it is sent (see <see cref="ClaimNoticeAsync"/>).</summary>
    public Task<Claim> ClaimDigestAsync(DateOnly day, string recipient, string messageId, int failedCount, TimeSpan claimTimeout, CancellationToken cancellationToken)
    {
        var key = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        return ClaimAsync("digests", "day",
            "INSERT INTO digests(day, recipient, message_id, failed_count, state, claim_token, claimed_at) VALUES (@id, @recipient, @message, @count, 'sending', @token, @at) ON CONFLICT DO NOTHING",
            command =>
            {
                Add(command, "@id", key);
                Add(command, "@recipient", recipient);
                Add(command, "@message", messageId);
                Add(command, "@count", (long)failedCount);
            }, key, claimTimeout, cancellationToken);
    }

    /// <summary>Marks a claimed digest sent.</summary>
    public Task MarkDigestSentAsync(DateOnly day, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE digests SET state = 'sent', sent_at = @at WHERE day = @id", day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>The failed payments that happened in [<paramref name="from"/>, <paramref name="to"/>), oldest first.</summary>
    public async Task<IReadOnlyList<FailedPayment>> GetFailedPaymentsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT a.invoice_id, a.attempt, a.customer_id, c.email, a.amount, a.currency, a.reason, a.occurred_at
            FROM payment_attempts a LEFT JOIN customers c ON c.customer_id = a.customer_id
            WHERE a.outcome = 'failed' AND a.occurred_at >= @from AND a.occurred_at < @to
            ORDER BY a.occurred_at, a.invoice_id, a.attempt
            """);
        Add(command, "@from", from.ToUnixTimeMilliseconds());
        Add(command, "@to", to.ToUnixTimeMilliseconds());
        var list = new List<FailedPayment>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new FailedPayment(reader.GetString(0), (int)reader.GetInt64(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetInt64(4), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7))));
        }
        return list;
    }

    /// <summary>Counts of what the store holds.</summary>
    public async Task<StoreSummary> GetSummaryAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT (SELECT COUNT(*) FROM customers),
                   (SELECT COUNT(*) FROM invoices WHERE status = 'paid'),
                   (SELECT COUNT(*) FROM invoices WHERE status = 'payment_failed'),
                   (SELECT COUNT(*) FROM notices WHERE state = 'sent'),
                   (SELECT COUNT(*) FROM digests WHERE state = 'sent')
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new StoreSummary(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
    }

    private async Task<Claim> ClaimAsync(string table, string keyColumn, string insertSql, Action<DbCommand> bind, string key, TimeSpan claimTimeout,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var now = Now();
        var token = Guid.NewGuid().ToString("N");
        await using (var insert = Command(connection, null, insertSql))
        {
            bind(insert);
            Add(insert, "@token", token);
            Add(insert, "@at", now);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) > 0)
                return new Claim(ClaimState.Send, token);
        }
        // Claimed before: take the claim over only when it is older than the timeout (its sender died, or gave it back), in one
        // statement, so two workers never both take it.
        await using (var takeOver = Command(connection, null,
            $"UPDATE {table} SET claimed_at = @at, claim_token = @token WHERE {keyColumn} = @id AND state = 'sending' AND claimed_at <= @stale"))
        {
            Add(takeOver, "@at", now);
            Add(takeOver, "@token", token);
            Add(takeOver, "@id", key);
            Add(takeOver, "@stale", now - (long)claimTimeout.TotalMilliseconds);
            if (await takeOver.ExecuteNonQueryAsync(cancellationToken) > 0)
                return new Claim(ClaimState.Send, token);
        }
        await using var select = Command(connection, null, $"SELECT state FROM {table} WHERE {keyColumn} = @id");
        Add(select, "@id", key);
        return new Claim((string?)await select.ExecuteScalarAsync(cancellationToken) == "sent" ? ClaimState.AlreadySent : ClaimState.Busy, null);
    }

    private async Task UpdateAsync(string sql, string key, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, sql);
        Add(command, "@id", key);
        Add(command, "@at", Now());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken);
        return await OpenRawAsync(cancellationToken);
    }

    private async Task<DbConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
            return await _postgres.OpenConnectionAsync(cancellationToken);
        var connection = new SqliteConnection(_sqliteConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, null, _sqliteBusyTimeout!, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
        _migrateLock.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _postgres?.Dispose();
        _migrateLock.Dispose();
    }
}
