using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using AppRuntime;
using AppRuntime.Mail;
using AppRuntime.TestSupport;
using MailKit;
using MailOrderBot.Module;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;

namespace MailOrderBot.Tests;

/// <summary>
/// Mail arriving while the bot runs, as an operator sees it: emails trickle in or arrive in a burst after start, and every one must
/// end with its documented flags. Each test judges by its own IMAP session and its own SQL query, never by the bot's logs.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MailTrafficIntegrationTests : IDisposable
{
    private const string Failed = ImapOptions.DefaultFailedKeyword;
    private readonly string _db = Path.Combine(Path.GetTempPath(), $"traffic-{Guid.NewGuid():N}.db");

    public static TheoryData<SourceMode> Modes => new() { SourceMode.ImapPolling, SourceMode.ImapIdle };

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

    private static Dictionary<string, string?> Config(string folder, SourceMode mode, params (string Key, string Value)[] extra)
    {
        var config = BotHost.ImapConfig(folder, mode);
        config["MailOrderBot:Imap:PollInterval"] = mode == SourceMode.ImapIdle ? "01:00:00" : "00:00:02"; // polling every 2 s, as operators run it
        foreach (var (key, value) in extra)
            config[key] = value;
        return config;
    }

    private static async Task<BotHost> StartIdleBotAsync(string db, Dictionary<string, string?> config)
    {
        var bot = await BotHost.StartAsync(db, config);
        await Eventually.TrueAsync(bot.IsDrainedAsync, "the bot has looked at its (empty) folder once");
        return bot;
    }

    private static bool Seen(IMessageSummary summary) => summary.Flags!.Value.HasFlag(MessageFlags.Seen);

    private static bool FlaggedFailed(IMessageSummary summary) => summary.Keywords.Contains(Failed);

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Trickle_every_email_that_arrives_while_the_bot_runs_is_seen_within_5_s_of_its_order_being_stored(SourceMode mode)
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync($"trickle{(int)mode}");
        await using var bot = await StartIdleBotAsync(_db, Config(folder, mode));

        // A watcher of our own notes when each order appears in the database and when its email shows \Seen on the server.
        var stored = new ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);
        var seen = new ConcurrentDictionary<uint, TimeSpan>();
        var clock = Stopwatch.StartNew();
        using var stopWatching = new CancellationTokenSource();
        var watcher = WatchAsync(folder, stored, seen, clock, stopWatching.Token);

        var random = new Random(13); // the same pacing every run
        var sent = new List<(UniqueId Uid, string MessageId)>();
        for (var i = 0; i < 20; i++)
        {
            var messageId = $"{folder}-{i}@trickle";
            sent.Add((await ImapTestServer.AppendAsync(folder, ImapTestServer.Message($"Order {i}", $"SKU-1001 x {i % 3 + 1}\n", messageId)), messageId));
            await Task.Delay(TimeSpan.FromMilliseconds(200 + random.Next(800)));
        }

        try
        {
            await Eventually.TrueAsync(() => sent.All(s => seen.ContainsKey(s.Uid.Id) && stored.ContainsKey(s.MessageId)),
                "every trickled email is stored and \\Seen", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            var unseen = sent.Where(s => !seen.ContainsKey(s.Uid.Id)).Select(s => s.Uid.Id);
            Assert.Fail($"{mode}: {stored.Count} of 20 orders stored; UIDs never \\Seen on the server: {string.Join(", ", unseen)}");
        }
        finally
        {
            await stopWatching.CancelAsync();
            await watcher;
        }

        foreach (var (uid, messageId) in sent)
        {
            var lag = seen[uid.Id] - stored[messageId];
            Assert.True(lag < TimeSpan.FromSeconds(5), $"UID {uid.Id} was \\Seen {lag.TotalSeconds:0.0} s after its order was stored");
        }

        Assert.Equal(20, Orders().Count);
        Assert.All(Orders().Values, status => Assert.Equal("accepted", status));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Burst_200_emails_arriving_at_once_while_the_bot_is_idle_are_all_stored_and_seen(SourceMode mode)
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync($"burst{(int)mode}");
        var warmUp = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Yesterday", "SKU-1001 x 1\n", $"{folder}-warm@burst"));
        await using var bot = await StartIdleBotAsync(_db, Config(folder, mode)); // has handled mail before the burst
        Assert.True(Seen((await ImapTestServer.FlagsAsync(folder))[warmUp.Id]));

        var uids = await ImapTestServer.AppendManyAsync(folder,
            Enumerable.Range(0, 200).Select(i => ImapTestServer.Message($"Burst {i}", $"SKU-100{i % 3 + 1} x 1\n", $"{folder}-{i}@burst")));

        await Eventually.TrueAsync(async () =>
        {
            var flags = await ImapTestServer.FlagsAsync(folder);
            return uids.All(u => Seen(flags[u.Id]));
        }, "all 200 emails are \\Seen", TimeSpan.FromSeconds(90));
        Assert.Equal(201, Orders().Count);
        var final = await ImapTestServer.FlagsAsync(folder);
        Assert.All(uids, u => Assert.False(FlaggedFailed(final[u.Id]), $"UID {u.Id} must not be flagged failed"));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Mixed_trickle_valid_rejected_not_mime_and_over_limit_emails_each_end_with_their_documented_flags(SourceMode mode)
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync($"mixed{(int)mode}");
        await using var bot = await StartIdleBotAsync(_db, Config(folder, mode, ("MailOrderBot:Imap:MaxMessageSize", "65536")));

        // What docs/adapters/mail.md promises for each kind.
        var expected = new List<(UniqueId Uid, string Kind, string? MessageId)>();
        for (var round = 0; round < 3; round++)
        {
            var valid = $"{folder}-{round}-valid@mixed";
            expected.Add((await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Order", "SKU-2001 x 1\n", valid)), "accepted", valid));
            await Task.Delay(300);
            var rejected = $"{folder}-{round}-rejected@mixed";
            expected.Add((await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Order", "SKU-9999 x 1\n", rejected)), "rejected", rejected));
            await Task.Delay(300);
            expected.Add((await ImapTestServer.AppendRawAsync(folder, "this is not a header\r\n\u0001\u0002 neither\r\n"u8.ToArray()), "not-mime", null));
            await Task.Delay(300);
            var big = ImapTestServer.Message("Big order", "SKU-1001 x 1\n", $"{folder}-{round}-big@mixed",
                attachment: ("scan.bin", "application/octet-stream", new byte[100_000]));
            expected.Add((await ImapTestServer.AppendAsync(folder, big), "over-limit", big.MessageId));
            await Task.Delay(300);
        }

        bool Done(IReadOnlyDictionary<uint, IMessageSummary> flags) =>
            expected.All(e => e.Kind is "accepted" or "rejected" ? Seen(flags[e.Uid.Id]) : FlaggedFailed(flags[e.Uid.Id]));
        await Eventually.TrueAsync(async () => Done(await ImapTestServer.FlagsAsync(folder)), "every email has its outcome flag", TimeSpan.FromSeconds(30));

        var final = await ImapTestServer.FlagsAsync(folder);
        var orders = Orders();
        foreach (var (uid, kind, messageId) in expected)
        {
            var summary = final[uid.Id];
            switch (kind)
            {
                case "accepted" or "rejected":
                    Assert.True(Seen(summary) && !FlaggedFailed(summary), $"{kind} UID {uid.Id}: \\Seen, not {Failed}");
                    Assert.Equal(kind, orders[messageId!]);
                    break;
                default:
                    Assert.True(!Seen(summary) && FlaggedFailed(summary), $"{kind} UID {uid.Id}: unread and {Failed}");
                    if (messageId is not null)
                        Assert.False(orders.ContainsKey(messageId), $"{kind} UID {uid.Id} must never reach the store");
                    break;
            }
        }

        Assert.Equal(6, orders.Count);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Reconciliation_restores_seen_removed_by_hand_from_an_email_whose_order_is_stored(SourceMode mode)
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync($"reconcile{(int)mode}");
        var period = TimeSpan.FromSeconds(3);
        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Order", "SKU-1003 x 2\n", $"{folder}@reconcile"));
        // No search after the first one (polls every 10 minutes): what restores the flag is the periodic reconciliation.
        await using var bot = await StartIdleBotAsync(_db, Config(folder, mode,
            ("MailOrderBot:Imap:ReconcileInterval", "00:00:03"), ("MailOrderBot:Imap:PollInterval", "00:10:00")));
        await Eventually.TrueAsync(async () => Orders().ContainsKey($"{folder}@reconcile") && Seen((await ImapTestServer.FlagsAsync(folder))[uid.Id]),
            "the order is stored and the email \\Seen");

        using (var client = await ImapTestServer.ConnectAsync())
        {
            var target = await client.GetFolderAsync(folder);
            await target.OpenAsync(FolderAccess.ReadWrite);
            await target.StoreAsync(uid, new StoreFlagsRequest(StoreAction.Remove, MessageFlags.Seen) { Silent = true });
            await client.DisconnectAsync(true);
        }

        Assert.False(Seen((await ImapTestServer.FlagsAsync(folder))[uid.Id]));
        var removed = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => Seen((await ImapTestServer.FlagsAsync(folder))[uid.Id]), "the bot stores \\Seen again", period * 3);
        // Within about a period (a search would come only after 10 minutes); two periods and 2 s of slack for a loaded machine.
        Assert.True(removed.Elapsed < period * 2 + TimeSpan.FromSeconds(2), $"restored after {removed.Elapsed.TotalSeconds:0.0} s; the period is {period.TotalSeconds} s");

        // An operator sees it in /api/sources (the source snapshot the control plane serves).
        var runtime = bot.Host.Services.GetRequiredService<RuntimeManager>();
        await Eventually.TrueAsync(() => runtime.GetSourceSnapshots().Single().Details.GetValueOrDefault("flagsReconciled") == "1",
            "the source's details count the reconciled flag");
        Assert.Single(Orders()); // restored, not processed twice
    }

    /// <summary>Records when each order first appears in the database and when each email first shows \Seen.</summary>
    private async Task WatchAsync(string folder, ConcurrentDictionary<string, TimeSpan> stored, ConcurrentDictionary<uint, TimeSpan> seen,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        using var client = await ImapTestServer.ConnectAsync();
        var target = await client.GetFolderAsync(folder);
        await target.OpenAsync(FolderAccess.ReadOnly);
        while (!cancellationToken.IsCancellationRequested)
        {
            foreach (var messageId in Orders().Keys)
                stored.TryAdd(messageId, clock.Elapsed);
            await client.NoOpAsync();
            foreach (var summary in await target.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags))
            {
                if (Seen(summary))
                    seen.TryAdd(summary.UniqueId.Id, clock.Elapsed);
            }

            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await client.DisconnectAsync(true);
    }
}
