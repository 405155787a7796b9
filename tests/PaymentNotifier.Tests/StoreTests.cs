using Microsoft.Extensions.Time.Testing;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;
using PaymentNotifier.Services;

namespace PaymentNotifier.Tests;

/// <summary>The store on both databases: the same schema from the same migrations, and the same answers. Checked with SQL of its own.</summary>
public sealed class StoreTests
{
    private sealed class Db : IAsyncDisposable
    {
        private readonly PostgresSchema? _schema;
        private readonly string? _directory;

        private Db(PaymentStore store, PostgresSchema? schema, string? directory)
        {
            Store = store;
            _schema = schema;
            _directory = directory;
        }

        public PaymentStore Store { get; }

        public PaymentNotifierSettings Settings { get; private init; } = new();

        /// <summary>Runs <paramref name="sql"/> on a connection of its own; returns the first column of the first row.</summary>
        public async Task<string?> ScalarAsync(string sql)
        {
            if (_schema is not null)
                return Convert.ToString((await _schema.QueryAsync(sql)).FirstOrDefault()?[0], System.Globalization.CultureInfo.InvariantCulture);
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_directory!, "store.db")};Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        public static async Task<Db> OpenAsync(string provider, FakeTimeProvider? time = null)
        {
            var clock = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero));
            if (provider == "PostgreSql")
            {
                var schema = await PostgresSchema.CreateAsync();
                var settings = new PaymentNotifierSettings { Store = new StoreSettings { Provider = provider, ConnectionString = schema.ConnectionString } };
                return new Db(new PaymentStore(settings, clock), schema, null) { Settings = settings };
            }
            var directory = Path.Combine(Path.GetTempPath(), "pn-store-" + Guid.NewGuid().ToString("N")[..10]);
            var sqlite = new PaymentNotifierSettings { Store = new StoreSettings { Provider = provider, Path = Path.Combine(directory, "store.db") } };
            return new Db(new PaymentStore(sqlite, clock), null, directory) { Settings = sqlite };
        }

        public async ValueTask DisposeAsync()
        {
            await Store.DisposeAsync();
            if (_schema is not null)
                await _schema.DisposeAsync();
            if (_directory is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(_directory, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("PostgreSql")]
    public async Task Migrations_run_once_and_a_newer_schema_is_refused(string provider)
    {
        await using var db = await Db.OpenAsync(provider);
        await db.Store.MigrateAsync(default);
        Assert.Equal(new StoreSummary(0, 0, 0, 0, 0), await db.Store.GetSummaryAsync(default));
        Assert.Equal(PaymentStore.Migrations.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), await db.ScalarAsync("SELECT MAX(version) FROM schema_migrations"));

        // Another process on the same database finds the schema at its version and applies nothing twice.
        await using (var second = new PaymentStore(db.Settings, TimeProvider.System))
            await second.MigrateAsync(default);
        Assert.Equal(PaymentStore.Migrations.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), await db.ScalarAsync("SELECT COUNT(*) FROM schema_migrations"));

        // A database a newer build migrated is not touched by this one.
        await db.ScalarAsync("INSERT INTO schema_migrations(version, applied_at) VALUES (99, 0)");
        await using var older = new PaymentStore(db.Settings, TimeProvider.System);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => older.MigrateAsync(default));
        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("PostgreSql")]
    public async Task Recording_is_idempotent_and_a_paid_invoice_stays_paid(string provider)
    {
        await using var db = await Db.OpenAsync(provider);
        var failed = Notifier.Failed("e1", "in_1", 1, 1234, new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        Assert.True((await db.Store.RecordEventAsync(failed, default)).IsNew);
        Assert.False((await db.Store.RecordEventAsync(failed, default)).IsNew);
        Assert.False((await db.Store.RecordEventAsync(failed with { EventId = "e1-again" }, default)).IsNew);
        Assert.Equal(new EventRecord(true, true), await db.Store.RecordEventAsync(Notifier.Paid("e2", "in_1", 1234, new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero)), default));
        Assert.Equal(new EventRecord(true, true), await db.Store.RecordEventAsync(Notifier.Failed("e3", "in_1", 2, 1234, new DateTimeOffset(2026, 12, 5, 13, 0, 0, TimeSpan.Zero)), default)); // paid stays paid

        var invoice = await db.Store.GetInvoiceAsync("in_1", default);
        Assert.Equal(new InvoiceRecord("in_1", "cus_in_1", 1234, "EUR", "paid", 2), invoice);
        var failures = await db.Store.GetFailedPaymentsAsync(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), default);
        Assert.Equal([("in_1", 1), ("in_1", 2)], failures.Select(f => (f.InvoiceId, f.Attempt)));
        Assert.All(failures, f => Assert.Equal("in_1@example.com", f.CustomerEmail));
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("PostgreSql")]
    public async Task A_claim_is_held_by_one_worker_until_sent_released_or_stale(string provider)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero));
        await using var db = await Db.OpenAsync(provider, time);
        var notice = Notifier.Notice("in_1", 1);
        var timeout = TimeSpan.FromMinutes(2);

        async Task<ClaimState> ClaimAsync() => (await db.Store.ClaimNoticeAsync(notice, "m@x", timeout, default)).State;

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => db.Store.ClaimNoticeAsync(notice, "m@x", timeout, default)));
        var first = Assert.Single(claims, c => c.State == ClaimState.Send);
        Assert.Equal(7, claims.Count(c => c.State == ClaimState.Busy));

        await db.Store.ReleaseNoticeClaimAsync(notice.NoticeId, first.Token!, default);    // certainly not sent: given back
        var second = await db.Store.ClaimNoticeAsync(notice, "m@x", timeout, default);
        Assert.Equal(ClaimState.Send, second.State);
        await db.Store.ReleaseNoticeClaimAsync(notice.NoticeId, first.Token!, default);    // a stale token gives back nothing
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ClaimState.Busy, await ClaimAsync());
        time.Advance(TimeSpan.FromMinutes(1));                                              // the claimant died: its claim is stale
        var third = await db.Store.ClaimNoticeAsync(notice, "m@x", timeout, default);
        Assert.Equal(ClaimState.Send, third.State);
        await db.Store.ReleaseNoticeClaimAsync(notice.NoticeId, second.Token!, default);   // the slow one cannot give back the new claim
        Assert.Equal(ClaimState.Busy, await ClaimAsync());
        await db.Store.MarkNoticeSentAsync(notice.NoticeId, default);
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(ClaimState.AlreadySent, await ClaimAsync());

        var day = new DateOnly(2026, 12, 5);
        Assert.Equal(ClaimState.Send, (await db.Store.ClaimDigestAsync(day, "f@x", "d@x", 3, timeout, default)).State);
        Assert.Equal(ClaimState.Busy, (await db.Store.ClaimDigestAsync(day, "f@x", "d@x", 3, timeout, default)).State);
        await db.Store.MarkDigestSentAsync(day, default);
        Assert.Equal(ClaimState.AlreadySent, (await db.Store.ClaimDigestAsync(day, "f@x", "d@x", 3, timeout, default)).State);
        Assert.Equal(new StoreSummary(0, 0, 0, 1, 1), await db.Store.GetSummaryAsync(default));
    }
}
