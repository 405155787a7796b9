using System.Text;
using AppRuntime.TestSupport;
using MailKit;
using MailOrderBot.Domain;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Microsoft.Data.Sqlite;
using MimeKit;

namespace MailOrderBot.Tests;

/// <summary>The whole bot (generated composition, real runtime, real SQLite) against the Dovecot of tests/infra/dovecot.sh.</summary>
[Trait("Category", "Integration")]
public sealed class MailOrderBotIntegrationTests : IDisposable
{
    private readonly string _db = Path.Combine(Path.GetTempPath(), $"bot-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _db, _db + "-wal", _db + "-shm" })
            File.Delete(file);
    }

    private Dictionary<string, string> Orders()
    {
        if (!File.Exists(_db))
            return [];
        using var connection = new SqliteConnection($"Data Source={_db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE name = 'orders'";
        if (command.ExecuteScalar() is null)
            return [];
        command.CommandText = "SELECT message_id, status FROM orders";
        using var reader = command.ExecuteReader();
        var rows = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read())
            rows[reader.GetString(0)] = reader.GetString(1);
        return rows;
    }

    /// <summary>A mixed batch: valid, rejected and malformed (but still MIME) orders, with the status each must end in.</summary>
    private static List<(MimeMessage Message, string Status)> Batch(int count, string tag)
    {
        var batch = new List<(MimeMessage, string)>();
        for (var i = 0; i < count; i++)
        {
            var id = $"{tag}-{i}@test";
            (MimeMessage, string) item = (i % 10) switch
            {
                < 6 => (ImapTestServer.Message($"Order {i}", $"SKU-1001 x {i % 5 + 1}\nName: Buyer {i}\n", id), "accepted"),
                6 => (ImapTestServer.Message($"Order {i}", "SKU-9999 x 1\n", id), "rejected"),
                7 => (ImapTestServer.Message($"Order {i}", "SKU-1002 x 0\n", id), "rejected"),
                8 => (ImapTestServer.Message($"Question {i}", "Hello, any discounts?\n", id), "rejected"),
                _ => (Malformed(id), "rejected"),
            };
            batch.Add(item);
        }

        return batch;
    }

    private static MimeMessage Malformed(string messageId)
    {
        var raw = $"From: x@example.com\r\nMessage-ID: <{messageId}>\r\nContent-Type: multipart/mixed\r\n\r\nSKU-1001 x 1\r\n";
        return MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
    }

    [Fact]
    public async Task Polling_processes_50_emails_each_once_into_the_db_and_marks_all_of_them_seen()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("bot50");
        var batch = Batch(50, folder);
        var uids = await ImapTestServer.AppendManyAsync(folder, batch.Select(b => b.Message));

        await using (var bot = await BotHost.StartAsync(_db, BotHost.ImapConfig(folder, SourceMode.ImapPolling)))
        {
            await Eventually.TrueAsync(async () => Orders().Count == 50 && await bot.IsDrainedAsync(), "all 50 emails are stored and settled", TimeSpan.FromSeconds(60));
            Assert.Equal(50, bot.Stats.Accepted + bot.Stats.Rejected);
            Assert.Equal(0, bot.Stats.Duplicates);
        }

        var orders = Orders();
        foreach (var (message, status) in batch)
            Assert.Equal(status, orders[message.MessageId!]);
        var flags = await ImapTestServer.FlagsAsync(folder);
        Assert.All(uids, uid => Assert.True(flags[uid.Id].Flags!.Value.HasFlag(MessageFlags.Seen), $"UID {uid.Id} is not \\Seen"));
    }

    [Fact]
    public async Task Idle_processes_an_email_appended_after_start_within_seconds_without_polling()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("botidle");
        await using var bot = await BotHost.StartAsync(_db, BotHost.ImapConfig(folder, SourceMode.ImapIdle)); // poll interval: 1 hour
        await Eventually.TrueAsync(bot.IsDrainedAsync, "the IDLE source caught up on the empty folder");

        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Fresh", "SKU-2001 x 1\n", "fresh@test"));

        await Eventually.TrueAsync(() => Orders().ContainsKey("fresh@test"), "IDLE delivers the new email", TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder))[uid.Id].Flags!.Value.HasFlag(MessageFlags.Seen),
            "the email is marked read after the order was stored", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_transient_store_failure_leaves_the_email_unread_and_it_is_retried_then_processed()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("bottransient");
        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Retry", "SKU-1001 x 1\n", "retry@test"));
        var store = new FlakyStore(failures: 2, errorCode: 5); // SQLITE_BUSY twice

        await using var bot = await BotHost.StartAsync(_db, BotHost.ImapConfig(folder, SourceMode.ImapPolling), wrapStore: store.Wrap);
        await Eventually.TrueAsync(() => store.Calls >= 1, "the first attempt fails");
        Assert.False((await ImapTestServer.FlagsAsync(folder))[uid.Id].Flags!.Value.HasFlag(MessageFlags.Seen), "a failed attempt must leave the email unread");

        await Eventually.TrueAsync(() => Orders().ContainsKey("retry@test"), "the third attempt stores the order");
        Assert.Equal(3, store.Calls);
        await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder))[uid.Id].Flags!.Value.HasFlag(MessageFlags.Seen), "then the email is read");
        Assert.Equal(1, bot.Stats.Accepted);
    }

    [Fact]
    public async Task A_permanent_failure_is_dead_lettered_and_the_email_stays_unread_and_flagged()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("botdead");
        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Doomed", "SKU-1001 x 1\n", "doomed@test"));
        var store = new FlakyStore(failures: int.MaxValue, errorCode: 26); // SQLITE_NOTADB: no retry can fix it

        await using var bot = await BotHost.StartAsync(_db, BotHost.ImapConfig(folder, SourceMode.ImapPolling), wrapStore: store.Wrap);

        await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder))[uid.Id].Keywords.Contains("$AppRuntimeFailed"),
            "the dead-lettered email is flagged");
        var flags = (await ImapTestServer.FlagsAsync(folder))[uid.Id];
        Assert.False(flags.Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.Equal(1, store.Calls); // permanent: not retried
        Assert.Empty(Orders());
    }

    [Fact]
    public async Task With_four_workers_emails_are_processed_concurrently()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("botpar");
        await ImapTestServer.AppendManyAsync(folder, Enumerable.Range(0, 8).Select(i => ImapTestServer.Message($"P{i}", "SKU-1001 x 1\n", $"{folder}-{i}@test")));
        var store = new ConcurrencyProbeStore(expected: 4);

        await using var bot = await BotHost.StartAsync(_db, BotHost.ImapConfig(folder, SourceMode.ImapPolling), workers: 4, wrapStore: store.Wrap);

        await Eventually.TrueAsync(() => Orders().Count == 8, "all emails are processed");
        Assert.Equal(4, store.MaxConcurrent);
    }

    [Theory]
    [InlineData(SourceMode.Folder)]
    [InlineData(SourceMode.ImapPolling)]
    [InlineData(SourceMode.ImapIdle)]
    public async Task The_same_emails_end_the_same_way_whichever_source_reads_them(SourceMode mode)
    {
        var tag = $"swap{mode}".ToLowerInvariant();
        var batch = Batch(10, tag + Guid.NewGuid().ToString("N")[..6]);
        Dictionary<string, string?> config;
        string? dir = null;
        if (mode == SourceMode.Folder)
        {
            dir = Path.Combine(Path.GetTempPath(), $"swap-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            for (var i = 0; i < batch.Count; i++)
                await batch[i].Message.WriteToAsync(Path.Combine(dir, $"{i:00}.eml"));
            config = new() { ["MailOrderBot:Source:Mode"] = "Folder", ["MailOrderBot:Folder:Path"] = dir };
        }
        else
        {
            await ImapTestServer.EnsureRunningAsync();
            var folder = await ImapTestServer.CreateFolderAsync(tag);
            await ImapTestServer.AppendManyAsync(folder, batch.Select(b => b.Message));
            config = BotHost.ImapConfig(folder, mode);
        }

        try
        {
            await using (var bot = await BotHost.StartAsync(_db, config))
                await Eventually.TrueAsync(async () => Orders().Count == batch.Count && await bot.IsDrainedAsync(), $"{mode}: every email is processed and settled");

            var orders = Orders();
            Assert.All(batch, b => Assert.Equal(b.Status, orders[b.Message.MessageId!]));
            if (dir is not null)
                Assert.Equal(batch.Count, Directory.GetFiles(Path.Combine(dir, "processed")).Length);
        }
        finally
        {
            if (dir is not null)
                Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Fails the first <c>failures</c> saves with a SQLite error code, then saves for real.</summary>
    private sealed class FlakyStore(int failures, int errorCode)
    {
        private readonly int _failures = failures;
        private readonly int _errorCode = errorCode;
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public IOrderStore Wrap(IOrderStore inner) => new Store(this, inner);

        private sealed class Store(FlakyStore owner, IOrderStore inner) : IOrderStore
        {
            public ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken) =>
                Interlocked.Increment(ref owner._calls) <= owner._failures
                    ? throw new SqliteException($"injected SQLite error {owner._errorCode}", owner._errorCode)
                    : inner.SaveAsync(outcome, cancellationToken);

            public ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken) => inner.GetSummaryAsync(cancellationToken);
        }
    }

    /// <summary>Holds each save until <c>expected</c> saves are inside at once (or 10 s pass), recording the most seen together.</summary>
    private sealed class ConcurrencyProbeStore(int expected)
    {
        private readonly int _expected = expected;
        private readonly TaskCompletionSource _enough = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _inside;
        private int _max;

        public int MaxConcurrent => Volatile.Read(ref _max);

        public IOrderStore Wrap(IOrderStore inner) => new Store(this, inner);

        private sealed class Store(ConcurrencyProbeStore owner, IOrderStore inner) : IOrderStore
        {
            public async ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken)
            {
                var now = Interlocked.Increment(ref owner._inside);
                int max;
                while (now > (max = Volatile.Read(ref owner._max)) && Interlocked.CompareExchange(ref owner._max, now, max) != max)
                {
                }

                if (now >= owner._expected)
                    owner._enough.TrySetResult();
                try
                {
                    await owner._enough.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Not enough concurrency: let the test see the maximum reached.
                }

                try
                {
                    return await inner.SaveAsync(outcome, cancellationToken);
                }
                finally
                {
                    Interlocked.Decrement(ref owner._inside);
                }
            }

            public ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken) => inner.GetSummaryAsync(cancellationToken);
        }
    }
}
