using AppRuntime;
using AppRuntime.Mail;
using AppRuntime.Testing;
using MailOrderBot.Domain;
using MailOrderBot.Handlers;
using MailOrderBot.Services;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailOrderBot.Tests;

public sealed class OrderEmailHandlerTests
{
    private sealed class FakeStore(Func<OrderOutcome, bool> save) : IOrderStore
    {
        public List<OrderOutcome> Saved { get; } = [];

        public ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken)
        {
            var stored = save(outcome);
            if (stored)
                Saved.Add(outcome);
            return ValueTask.FromResult(stored);
        }

        public ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private static TaskContext Context(int attempt = 1) =>
        TestTaskContext.Create("orders", "file:x.eml", attempt, maxAttempts: 5, enqueuedAt: TestData.Now);

    private static ImapMessage Email(string body) => TestData.Email(TestData.Headers() + body);

    [Fact]
    public async Task Accepted_and_rejected_orders_are_stored_and_counted()
    {
        var store = new FakeStore(_ => true);
        var stats = new OrderStats();
        var handler = new OrderEmailHandler(TestData.Parser(), store, stats, NullLogger<OrderEmailHandler>.Instance);

        await handler.HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None);
        await handler.HandleAsync(TestData.Email(TestData.Headers("<m2@test>") + "nothing\n"), Context(), CancellationToken.None);

        Assert.Equal([OrderStatus.Accepted, OrderStatus.Rejected], store.Saved.Select(o => o.Status));
        Assert.Equal((1, 1, 0), (stats.Accepted, stats.Rejected, stats.Duplicates));
    }

    [Fact]
    public async Task A_redelivered_email_is_counted_as_a_duplicate_and_completes()
    {
        var stats = new OrderStats();
        var handler = new OrderEmailHandler(TestData.Parser(), new FakeStore(_ => false), stats, NullLogger<OrderEmailHandler>.Instance);

        await handler.HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None);

        Assert.Equal(1, stats.Duplicates);
    }

    [Fact]
    public async Task A_busy_database_is_a_transient_failure_the_runtime_retries()
    {
        var handler = new OrderEmailHandler(TestData.Parser(), new FakeStore(_ => throw new SqliteException("database is locked", 5)),
            new OrderStats(), NullLogger<OrderEmailHandler>.Instance);

        var error = await Assert.ThrowsAsync<RetryTaskException>(async () => await handler.HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None));
        Assert.IsType<SqliteException>(error.InnerException);
    }

    [Fact]
    public async Task A_store_error_no_retry_can_fix_is_permanent()
    {
        var handler = new OrderEmailHandler(TestData.Parser(), new FakeStore(_ => throw new SqliteException("file is not a database", 26)),
            new OrderStats(), NullLogger<OrderEmailHandler>.Instance);

        await Assert.ThrowsAsync<PermanentTaskException>(async () => await handler.HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None));
    }

    [Fact]
    public async Task A_postgresql_serialization_failure_or_lost_connection_is_retried_and_a_constraint_violation_is_permanent()
    {
        static OrderEmailHandler Handler(Exception error) =>
            new(TestData.Parser(), new FakeStore(_ => throw error), new OrderStats(), NullLogger<OrderEmailHandler>.Instance);

        var serialization = await Assert.ThrowsAsync<RetryTaskException>(async () =>
            await Handler(new Npgsql.PostgresException("could not serialize access", "ERROR", "ERROR", "40001")).HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None));
        Assert.IsType<Npgsql.PostgresException>(serialization.InnerException);
        await Assert.ThrowsAsync<RetryTaskException>(async () =>
            await Handler(new Npgsql.NpgsqlException("Exception while reading from stream", new IOException("connection reset"))).HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None));
        await Assert.ThrowsAsync<PermanentTaskException>(async () =>
            await Handler(new Npgsql.PostgresException("new row violates check constraint", "ERROR", "ERROR", "23514")).HandleAsync(Email("SKU-1001 x 1\n"), Context(), CancellationToken.None));
    }
}
