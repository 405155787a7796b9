using MailOrderBot.Domain;
using MailOrderBot.Services;
using Microsoft.Data.Sqlite;

namespace MailOrderBot.Tests;

public sealed class SqliteOrderStoreTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"orders-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
            File.Delete(file);
    }

    private SqliteOrderStore Store()
    {
        var settings = TestData.Settings(_path);
        return new SqliteOrderStore(new MailOrderBot.Module.MailOrderBotSettings
        {
            Catalog = settings.Catalog,
            Store = new MailOrderBot.Module.StoreSettings { Path = _path, BusyTimeout = TimeSpan.FromMilliseconds(200) },
        });
    }

    private static OrderOutcome Accepted(string id) => new()
    {
        MessageId = id,
        Status = OrderStatus.Accepted,
        Customer = "Ann",
        Lines = [new OrderLine("SKU-1001", 2, 2490), new OrderLine("SKU-1003", 1, 1250)],
        TotalCents = 6230,
        ReceivedAt = new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.FromHours(1)),
    };

    private List<object?[]> Query(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }

        return rows;
    }

    [Fact]
    public async Task An_accepted_order_is_stored_with_its_lines_and_total()
    {
        Assert.True(await Store().SaveAsync(Accepted("m1@test"), CancellationToken.None));

        var order = Assert.Single(Query("SELECT message_id, status, customer, reason, total_cents, received_at FROM orders"));
        Assert.Equal(["m1@test", "accepted", "Ann", null, 6230L, "2026-11-30T08:00:00.0000000+00:00"], order);
        Assert.Equal(
            [["m1@test", "SKU-1001", 2L, 2490L], ["m1@test", "SKU-1003", 1L, 1250L]],
            Query("SELECT message_id, sku, quantity, unit_price_cents FROM order_lines ORDER BY sku"));
    }

    [Fact]
    public async Task A_rejected_order_is_stored_with_its_reason()
    {
        var outcome = new OrderOutcome
        {
            MessageId = "m2@test",
            Status = OrderStatus.Rejected,
            Reason = "unknown SKU SKU-9999",
            Lines = [new OrderLine("SKU-9999", 1, 0)],
            ReceivedAt = DateTimeOffset.UnixEpoch,
        };

        Assert.True(await Store().SaveAsync(outcome, CancellationToken.None));

        Assert.Equal([["rejected", "unknown SKU SKU-9999", 0L]], Query("SELECT status, reason, total_cents FROM orders"));
        var summary = await Store().GetSummaryAsync(CancellationToken.None);
        Assert.Equal(new OrderSummary(0, 1, 0), summary);
    }

    [Fact]
    public async Task Saving_the_same_message_id_again_changes_nothing()
    {
        var store = Store();
        Assert.True(await store.SaveAsync(Accepted("m1@test"), CancellationToken.None));

        var redelivered = Accepted("m1@test") with { Status = OrderStatus.Rejected, Reason = "second", Lines = [new OrderLine("SKU-1002", 9, 999)] };
        Assert.False(await store.SaveAsync(redelivered, CancellationToken.None));
        Assert.False(await Store().SaveAsync(Accepted("m1@test"), CancellationToken.None));

        Assert.Equal([["accepted", 6230L]], Query("SELECT status, total_cents FROM orders"));
        Assert.Equal(2, Query("SELECT * FROM order_lines").Count);
    }

    [Fact]
    public async Task Concurrent_saves_of_the_same_order_store_it_once()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Store()).ToList();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            Task.Run(async () => await stores[i % 4].SaveAsync(Accepted("race@test"), CancellationToken.None))));

        Assert.Equal(1, results.Count(r => r));
        Assert.Single(Query("SELECT * FROM orders"));
        Assert.Equal(2, Query("SELECT * FROM order_lines").Count);
    }

    [Fact]
    public async Task The_summary_counts_accepted_and_rejected_orders()
    {
        var store = Store();
        await store.SaveAsync(Accepted("a1"), CancellationToken.None);
        await store.SaveAsync(Accepted("a2"), CancellationToken.None);
        await store.SaveAsync(new OrderOutcome { MessageId = "r1", Status = OrderStatus.Rejected, Reason = "no order lines found" }, CancellationToken.None);

        Assert.Equal(new OrderSummary(2, 1, 12460), await store.GetSummaryAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_schema_has_the_documented_columns()
    {
        await Store().GetSummaryAsync(CancellationToken.None);

        Assert.Equal(["message_id", "status", "customer", "reason", "total_cents", "received_at"],
            Query("SELECT name FROM pragma_table_info('orders')").Select(r => r[0]));
        Assert.Equal(["message_id", "sku", "quantity", "unit_price_cents"],
            Query("SELECT name FROM pragma_table_info('order_lines')").Select(r => r[0]));
        Assert.Equal([1L], Query("SELECT pk FROM pragma_table_info('orders') WHERE name = 'message_id'")[0]);
    }

    [Fact]
    public async Task A_locked_database_surfaces_as_a_transient_error()
    {
        var store = Store();
        await store.GetSummaryAsync(CancellationToken.None);
        using var blocker = new SqliteConnection($"Data Source={_path};Default Timeout=1");
        blocker.Open();
        using var transaction = blocker.BeginTransaction(deferred: false); // holds the write lock

        var error = await Assert.ThrowsAsync<SqliteException>(async () => await store.SaveAsync(Accepted("m9"), CancellationToken.None));
        Assert.True(MailOrderBot.Handlers.OrderEmailHandler.IsTransient(error), $"SQLite error {error.SqliteErrorCode} should be transient");

        transaction.Rollback();
        Assert.True(await store.SaveAsync(Accepted("m9"), CancellationToken.None));
    }

    [Fact]
    public async Task Every_connection_of_the_store_has_the_busy_timeout_and_the_file_is_in_wal_mode()
    {
        var store = new SqliteOrderStore(new MailOrderBot.Module.MailOrderBotSettings
        {
            Store = new MailOrderBot.Module.StoreSettings { Path = _path, BusyTimeout = TimeSpan.FromMilliseconds(1500) },
        });

        for (var i = 0; i < 2; i++) // a new connection, then one from the pool
        {
            await using var connection = await store.OpenAsync(CancellationToken.None);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout";
            Assert.Equal(1500L, await command.ExecuteScalarAsync());
            Assert.Equal(2, connection.DefaultTimeout); // Microsoft.Data.Sqlite's own retry, in whole seconds
        }

        Assert.Equal([["wal"]], Query("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Saves_that_arrive_while_one_is_writing_share_a_transaction_and_an_order_that_fails_is_rolled_back_alone()
    {
        var store = Store();
        Assert.True(await store.SaveAsync(Accepted("warm-up@test"), CancellationToken.None));   // creates the schema
        // A planted trigger makes one order fail, as a constraint would.
        using (var setup = new SqliteConnection($"Data Source={_path}"))
        {
            setup.Open();
            using var trigger = setup.CreateCommand();
            trigger.CommandText = "CREATE TRIGGER poison BEFORE INSERT ON orders WHEN NEW.message_id = 'poison@test' BEGIN SELECT RAISE(ABORT, 'planted failure'); END;";
            trigger.ExecuteNonQuery();
        }

        // The test holds the write lock, so the first save waits inside its transaction while the next ones queue behind it.
        using var holder = new SqliteConnection($"Data Source={_path}");
        holder.Open();
        var held = holder.BeginTransaction(System.Data.IsolationLevel.Serializable, deferred: false);
        var store2 = new SqliteOrderStore(new MailOrderBot.Module.MailOrderBotSettings
        {
            Catalog = TestData.Settings(_path).Catalog,
            Store = new MailOrderBot.Module.StoreSettings { Path = _path, BusyTimeout = TimeSpan.FromSeconds(30) },
        });
        var first = Task.Run(() => store2.SaveAsync(Accepted("first@test"), CancellationToken.None).AsTask());
        await AppRuntime.TestSupport.Eventually.TrueAsync(() => store2.Writing, "the first save is writing");
        var ids = new[] { "b1@test", "b2@test", "poison@test", "b3@test", "b4@test" };
        var rest = ids.Select(id => store2.SaveAsync(Accepted(id), CancellationToken.None).AsTask()).ToList();
        Assert.Equal(5, store2.Queued);
        held.Commit();

        Assert.True(await first);
        var error = await Assert.ThrowsAsync<SqliteException>(() => rest[2]);
        Assert.Contains("planted failure", error.Message, StringComparison.Ordinal);
        foreach (var i in new[] { 0, 1, 3, 4 })
            Assert.True(await rest[i]);
        Assert.Equal((2L, 6L), store2.Batches);
        var stored = Query("SELECT message_id FROM orders ORDER BY message_id").Select(r => (string)r[0]!).ToList();
        Assert.Equal(["b1@test", "b2@test", "b3@test", "b4@test", "first@test", "warm-up@test"], stored);
        Assert.Empty(Query("SELECT * FROM order_lines WHERE message_id = 'poison@test'"));
        Assert.Equal(12L, Query("SELECT COUNT(*) FROM order_lines")[0][0]);
    }
}
