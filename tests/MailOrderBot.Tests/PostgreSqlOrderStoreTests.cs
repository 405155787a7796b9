using MailOrderBot.Domain;
using MailOrderBot.Handlers;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace MailOrderBot.Tests;

/// <summary>The PostgreSQL order store against the real server (tests/infra/postgres.sh), each test in a schema of its own.</summary>
public sealed class PostgreSqlOrderStoreTests : IAsyncLifetime
{
    private readonly List<PostgreSqlOrderStore> _stores = [];
    private PostgresSchema _db = null!;

    public async Task InitializeAsync() => _db = await PostgresSchema.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
            await store.DisposeAsync();
        await _db.DisposeAsync();
    }

    private PostgreSqlOrderStore Store(string? connectionString = null)
    {
        var store = new PostgreSqlOrderStore(new MailOrderBotSettings
        {
            Store = new StoreSettings { Provider = "PostgreSql", ConnectionString = connectionString ?? _db.ConnectionString },
        });
        _stores.Add(store);
        return store;
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

    [Fact]
    public async Task An_accepted_order_is_stored_with_its_lines_and_total()
    {
        Assert.True(await Store().SaveAsync(Accepted("m1@test"), CancellationToken.None));

        var order = Assert.Single(await _db.QueryAsync("SELECT message_id, status, customer, reason, total_cents, received_at FROM orders"));
        Assert.Equal(["m1@test", "accepted", "Ann", null, 6230L, new DateTime(2026, 11, 30, 8, 0, 0, DateTimeKind.Utc)], order);
        Assert.Equal(
            [["m1@test", "SKU-1001", 2L, 2490L], ["m1@test", "SKU-1003", 1L, 1250L]],
            await _db.QueryAsync("SELECT message_id, sku, quantity, unit_price_cents FROM order_lines ORDER BY sku"));
    }

    [Fact]
    public async Task Saving_the_same_message_id_again_returns_false_and_changes_nothing()
    {
        var store = Store();
        Assert.True(await store.SaveAsync(Accepted("m1@test"), CancellationToken.None));

        var redelivered = Accepted("m1@test") with { Status = OrderStatus.Rejected, Reason = "second", Lines = [new OrderLine("SKU-1002", 9, 999)] };
        Assert.False(await store.SaveAsync(redelivered, CancellationToken.None));
        Assert.False(await Store().SaveAsync(Accepted("m1@test"), CancellationToken.None)); // another instance

        Assert.Equal([["m1@test", "accepted", 6230L]], await _db.QueryAsync("SELECT message_id, status, total_cents FROM orders"));
        Assert.Equal([["SKU-1001", 2L], ["SKU-1003", 1L]], await _db.QueryAsync("SELECT sku, quantity FROM order_lines ORDER BY sku"));
    }

    [Fact]
    public async Task Concurrent_saves_of_the_same_message_id_from_many_tasks_and_instances_store_one_order()
    {
        var stores = Enumerable.Range(0, 4).Select(_ => Store()).ToList(); // four "instances", each its own connection pool
        await stores[0].GetSummaryAsync(CancellationToken.None); // the race is on the row, not on the schema
        using var start = new ManualResetEventSlim();

        var saves = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await stores[i % 4].SaveAsync(Accepted("race@test"), CancellationToken.None);
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(saves);

        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(1, await _db.ScalarAsync("SELECT count(*) FROM orders"));
        Assert.Equal(2, await _db.ScalarAsync("SELECT count(*) FROM order_lines"));
    }

    [Fact]
    public async Task Several_instances_creating_the_schema_at_once_all_succeed()
    {
        var stores = Enumerable.Range(0, 8).Select(_ => Store()).ToList();
        using var start = new ManualResetEventSlim();

        var first = stores.Select((store, i) => Task.Run(async () =>
        {
            start.Wait();
            return await store.SaveAsync(Accepted($"first-{i}@test"), CancellationToken.None);
        })).ToList();
        start.Set();

        Assert.All(await Task.WhenAll(first), Assert.True);
        Assert.Equal(8, await _db.ScalarAsync("SELECT count(*) FROM orders"));
    }

    [Fact]
    public async Task The_summary_counts_accepted_and_rejected_orders()
    {
        var store = Store();
        Assert.Equal(new OrderSummary(0, 0, 0), await store.GetSummaryAsync(CancellationToken.None));
        await store.SaveAsync(Accepted("a1"), CancellationToken.None);
        await store.SaveAsync(Accepted("a2"), CancellationToken.None);
        await store.SaveAsync(new OrderOutcome { MessageId = "r1", Status = OrderStatus.Rejected, Reason = "no order lines found" }, CancellationToken.None);

        Assert.Equal(new OrderSummary(2, 1, 12460), await store.GetSummaryAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_schema_has_the_same_tables_and_columns_as_the_sqlite_store()
    {
        await Store().GetSummaryAsync(CancellationToken.None);

        Assert.Equal(["message_id", "status", "customer", "reason", "total_cents", "received_at"],
            (await _db.QueryAsync($"SELECT column_name FROM information_schema.columns WHERE table_schema = '{_db.Name}' AND table_name = 'orders' ORDER BY ordinal_position")).Select(r => r[0]));
        Assert.Equal(["message_id", "sku", "quantity", "unit_price_cents"],
            (await _db.QueryAsync($"SELECT column_name FROM information_schema.columns WHERE table_schema = '{_db.Name}' AND table_name = 'order_lines' ORDER BY ordinal_position")).Select(r => r[0]));
        Assert.Equal([["message_id"]], await _db.QueryAsync(
            $"SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '\"{_db.Name}\".orders'::regclass AND i.indisprimary"));
    }

    [Fact]
    public async Task An_unreachable_server_surfaces_as_a_transient_error_and_the_store_works_once_it_answers()
    {
        // Port 1 on loopback: connection refused at once.
        var down = Store(new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Port = 1, Timeout = 5 }.ConnectionString);

        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await down.SaveAsync(Accepted("m9"), CancellationToken.None));

        Assert.True(OrderEmailHandler.IsTransient(error), $"{error.GetType().Name}: {error.Message} should be transient");
        Assert.True(await Store().SaveAsync(Accepted("m9"), CancellationToken.None));
    }

    [Theory]
    [InlineData("40001", true)]  // serialization failure
    [InlineData("40P01", true)]  // deadlock
    [InlineData("53300", true)]  // too many connections
    [InlineData("57P01", true)]  // admin shutdown (server restarting)
    [InlineData("28P01", true)]  // wrong password: an operator fixes it, the email is not at fault
    [InlineData("3D000", true)]  // no such database
    [InlineData("3F000", true)]  // the Search Path schema does not exist (yet)
    [InlineData("23505", false)] // unique violation
    [InlineData("23514", false)] // check violation
    [InlineData("22001", false)] // value too long
    [InlineData("42P01", false)] // no such table
    public void A_server_error_is_transient_or_permanent_by_its_sqlstate(string sqlState, bool transient)
    {
        var error = new PostgresException("test", "ERROR", "ERROR", sqlState);

        Assert.Equal(transient, OrderEmailHandler.IsTransient(error));
    }

    [Fact]
    public void The_connection_string_is_a_declared_secret_and_is_masked_in_the_configuration_view()
    {
        // Declared relative to the section; the runtime prefixes the section's path, as here.
        Assert.Contains("Store:ConnectionString", MailOrderBotSettings.ConfigSecretKeys, StringComparer.OrdinalIgnoreCase);
        var secretKeys = MailOrderBotSettings.ConfigSecretKeys.Select(k => "MailOrderBot:" + k).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailOrderBot:Store:Provider"] = "PostgreSql",
            ["MailOrderBot:Store:ConnectionString"] = "Host=db;Username=bot;Password=pg-secret-1",
        }).Build();

        var view = AppRuntime.ConfigRedaction.Redact(configuration, secretKeys);

        Assert.Equal(AppRuntime.ConfigRedaction.Mask, view["MailOrderBot:Store:ConnectionString"]);
        Assert.Equal("PostgreSql", view["MailOrderBot:Store:Provider"]);
    }
}
