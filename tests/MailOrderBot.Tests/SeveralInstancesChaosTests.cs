using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using AppRuntime.TestSupport;
using MailKit;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Npgsql;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace MailOrderBot.Tests;

/// <summary>
/// Issue #17's chaos run: three bot processes on one mailbox, the orders queue on Redis, the store on PostgreSQL, source leadership
/// on (the default). 300 emails wait before start and 120 trickle in while the bots run; meanwhile the leader is killed (SIGKILL),
/// Redis is crashed and restarted on its AOF, and Dovecot is restarted. The Redis and the Dovecot are this test's own (the same
/// scripts as tests/infra, their own ports and directories), so restarting them never disturbs a test running in parallel; the
/// PostgreSQL schema is its own too. Judged only by what this test observes itself: its own IMAP session (flags), its own SQL
/// (orders, and a trigger of its own that counts every store attempt), its own Redis reads (the queue's keys and counters).
/// </summary>
[Trait("Category", "Integration")]
public sealed class SeveralInstancesChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int ImapPort = 10149;
    private const int RedisPort = 6393;
    private const int Preloaded = 300;
    private const int Trickled = 120;
    private const int Instances = 3;
    private const int WorkersPerInstance = 4; // the bot's default (MailOrderBot:Workers)
    private const string Failed = AppRuntime.Mail.ImapOptions.DefaultFailedKeyword;

    private static readonly string DovecotDir = Path.Combine(Path.GetTempPath(), "appruntime-dovecot-chaos-test");
    private static readonly Dictionary<string, string> DovecotEnv = new()
    {
        ["APPRUNTIME_DOVECOT_DIR"] = DovecotDir,
        ["APPRUNTIME_IMAP_PORT"] = ImapPort.ToString(CultureInfo.InvariantCulture),
    };
    private static readonly Dictionary<string, string> RedisEnv = new()
    {
        ["APPRUNTIME_REDIS_PORT"] = RedisPort.ToString(CultureInfo.InvariantCulture),
        ["APPRUNTIME_REDIS_DIR"] = Path.Combine(Path.GetTempPath(), "appruntime-redis-chaos-test"),
        ["APPRUNTIME_REDIS_FSYNC"] = "always", // every acknowledged write is in the AOF before Redis answers
    };

    private readonly string _prefix = "chaos-" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly List<(BotProcess Bot, int Port, string Name)> _bots = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private PostgresSchema? _db;

    private enum Kind
    {
        Accepted,
        Rejected,
        NotMime,
        OverLimit,
    }

    public async Task InitializeAsync()
    {
        await ImapTestServer.RunInfraScriptAsync("redis.sh", "start", RedisEnv);
        await ImapTestServer.RunScriptAsync("start", DovecotEnv);
        _db = await PostgresSchema.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var (bot, _, name) in _bots)
        {
            var pid = bot.Id;
            await bot.DisposeAsync();
            var lines = bot.Stdout.Split('\n');
            output.WriteLine($"--- {name} (pid {pid}), first and last lines of {lines.Length}:{Environment.NewLine}{string.Join('\n', lines.Take(15))}{Environment.NewLine}...{Environment.NewLine}{string.Join('\n', lines.TakeLast(15))}{bot.Stderr}");
        }
        _http.Dispose();
        if (_db is not null)
            await _db.DisposeAsync();
        await ImapTestServer.RunScriptAsync("stop", DovecotEnv);
        await ImapTestServer.RunInfraScriptAsync("redis.sh", "stop", RedisEnv);
        try
        {
            Directory.Delete(DovecotDir, recursive: true); // the mail of this run; the next start writes a fresh config
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Valid orders, rejected orders (unknown SKU, quantity 0), emails that are not MIME and emails over the size limit.</summary>
    private static Kind KindOf(int i) => (i % 20) switch
    {
        < 14 => Kind.Accepted,
        < 17 => Kind.Rejected,
        17 => Kind.NotMime,
        18 => Kind.OverLimit,
        _ => Kind.Rejected,
    };

    private string MessageId(int i) => $"{i}.{_run}@chaos";

    private MimeKit.MimeMessage Email(int i) => KindOf(i) switch
    {
        Kind.Accepted => ImapTestServer.Message($"Order {i}", $"SKU-100{i % 3 + 1} x {i % 5 + 1}\nSKU-3001 x 2\n", MessageId(i)),
        Kind.Rejected => ImapTestServer.Message($"Order {i}", i % 20 == 19 ? "SKU-1001 x 0\n" : "SKU-9999 x 1\n", MessageId(i)),
        Kind.OverLimit => ImapTestServer.Message($"Big order {i}", "SKU-1001 x 1\n", MessageId(i),
            attachment: ("scan.bin", "application/octet-stream", new byte[100_000])),
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    private static readonly byte[] NotMime = "this is not a header\r\n\u0001\u0002 neither\r\n"u8.ToArray();

    [Fact]
    public async Task Three_instances_survive_kill_9_of_the_leader_and_restarts_of_redis_and_dovecot_with_every_email_handled_once()
    {
        var wall = Stopwatch.StartNew();
        var db = _db!;
        await CountStoreAttemptsAsync(db);
        var folder = await ImapTestServer.CreateFolderAsync("chaos", port: ImapPort);

        // 300 emails before start.
        var expected = new List<(uint Uid, Kind Kind, string? MessageId)>();
        var mime = Enumerable.Range(0, Preloaded).Where(i => KindOf(i) != Kind.NotMime).ToList();
        var uids = await ImapTestServer.AppendManyAsync(folder, mime.Select(Email), ImapPort);
        expected.AddRange(mime.Select((i, n) => (uids[n].Id, KindOf(i), (string?)MessageId(i))));
        foreach (var i in Enumerable.Range(0, Preloaded).Where(i => KindOf(i) == Kind.NotMime))
            expected.Add(((await ImapTestServer.AppendRawAsync(folder, NotMime, port: ImapPort)).Id, Kind.NotMime, null));

        for (var n = 0; n < Instances; n++)
            Start(folder, n);
        await Eventually.TrueAsync(() => _bots.All(b => b.Bot.Stdout.Contains("AppRuntime started", StringComparison.Ordinal) || b.Bot.HasExited),
            "every bot starts", TimeSpan.FromSeconds(90));
        Assert.All(_bots, b => Assert.False(b.Bot.HasExited, b.Bot.Stdout + b.Bot.Stderr));

        // kill -9 of the leader while the backlog is being worked off (once some of it is stored).
        var leader = await LeaderAsync();
        await Eventually.TrueAsync(async () => await OrderCountAsync(db) >= 30, "the first orders are stored", TimeSpan.FromSeconds(60));
        leader.Bot.KillHard();
        var storedAtKill = await OrderCountAsync(db);
        output.WriteLine($"{wall.Elapsed.TotalSeconds:0.0} s: killed the leader {leader.Name} (pid {leader.Bot.Id}) with {storedAtKill} of {expected.Count(e => e.Kind is Kind.Accepted or Kind.Rejected)} orders stored");

        // 120 more trickle in; Redis crashes and restarts on its AOF after 30 of them, Dovecot restarts after 70.
        var random = new Random(17); // the same pacing every run
        for (var i = Preloaded; i < Preloaded + Trickled; i++)
        {
            if (i == Preloaded + 30)
            {
                var outage = Stopwatch.StartNew();
                await ImapTestServer.RunInfraScriptAsync("redis.sh", "restart --hard", RedisEnv);
                output.WriteLine($"{wall.Elapsed.TotalSeconds:0.0} s: Redis SIGKILLed and restarted on its AOF ({outage.Elapsed.TotalSeconds:0.00} s)");
            }
            if (i == Preloaded + 70)
            {
                var outage = Stopwatch.StartNew();
                await ImapTestServer.RunScriptAsync("restart", DovecotEnv);
                output.WriteLine($"{wall.Elapsed.TotalSeconds:0.0} s: Dovecot restarted ({outage.Elapsed.TotalSeconds:0.00} s)");
            }
            var uid = KindOf(i) == Kind.NotMime
                ? await ImapTestServer.AppendRawAsync(folder, NotMime, port: ImapPort)
                : await ImapTestServer.AppendAsync(folder, Email(i), port: ImapPort);
            expected.Add((uid.Id, KindOf(i), KindOf(i) == Kind.NotMime ? null : MessageId(i)));
            await Task.Delay(TimeSpan.FromMilliseconds(50 + random.Next(100))); // pacing of the arrivals, not a wait for anything
        }
        output.WriteLine($"{wall.Elapsed.TotalSeconds:0.0} s: all {expected.Count} emails are in the folder");

        // Drained: every email has its final flags on the server, every order is stored, nothing is left in the queue.
        var queued = expected.Where(e => e.Kind is Kind.Accepted or Kind.Rejected).ToList();
        bool Final(IReadOnlyDictionary<uint, IMessageSummary> flags) => expected.All(e => flags.TryGetValue(e.Uid, out var s) &&
            (e.Kind is Kind.Accepted or Kind.Rejected ? Seen(s) && !FlaggedFailed(s) : !Seen(s) && FlaggedFailed(s)));
        try
        {
            await Eventually.TrueAsync(async () => Final(await ImapTestServer.FlagsAsync(folder, port: ImapPort)) && await OrderCountAsync(db) == queued.Count,
                "every email ends with its documented flags and every order is stored", TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            var flags = await ImapTestServer.FlagsAsync(folder, port: ImapPort);
            var wrong = expected.Where(e => !flags.TryGetValue(e.Uid, out var s) || (e.Kind is Kind.Accepted or Kind.Rejected ? !Seen(s) || FlaggedFailed(s) : Seen(s) || !FlaggedFailed(s)))
                .Select(e => $"{e.Uid} {e.Kind} {e.MessageId} [{(flags.TryGetValue(e.Uid, out var s) ? s.Flags + " " + string.Join(' ', s.Keywords) : "missing")}]");
            Assert.Fail($"{await OrderCountAsync(db)} of {queued.Count} orders stored; emails without their final flags: {string.Join("; ", wrong)}");
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{RedisPort},abortConnect=false");
        var r = redis.GetDatabase();
        var root = $"{_prefix}:{{orders}}";
        await Eventually.TrueAsync(async () => await r.ListLengthAsync(root + ":ready") == 0 && await r.SortedSetLengthAsync(root + ":delayed") == 0
            && await r.SortedSetLengthAsync(root + ":leases") == 0, "nothing is ready, delayed or leased in the orders queue", TimeSpan.FromSeconds(30));

        // The survivors stop cleanly.
        foreach (var (bot, _, name) in _bots.Where(b => b.Bot != leader.Bot))
            Assert.True(await bot.StopAsync(TimeSpan.FromSeconds(30)) == 0, $"{name} did not exit 0: {bot.Stderr}");
        var drainedAt = wall.Elapsed;

        // Every valid email gave exactly one row, with its documented outcome; nothing else reached the store.
        var rows = (await db.QueryAsync("SELECT message_id, status FROM orders")).ToDictionary(row => (string)row[0]!, row => (string)row[1]!, StringComparer.Ordinal);
        Assert.Equal(queued.Count, rows.Count);
        foreach (var (uid, kind, messageId) in expected)
        {
            if (kind is Kind.Accepted or Kind.Rejected)
                Assert.True(rows.TryGetValue(messageId!, out var status) && status == (kind == Kind.Accepted ? "accepted" : "rejected"), $"UID {uid} ({kind}, {messageId}): row {status ?? "missing"}");
            else if (messageId is not null)
                Assert.False(rows.ContainsKey(messageId), $"UID {uid} ({kind}) must never reach the store");
        }
        Assert.Equal(0, await db.ScalarAsync("SELECT count(*) FROM (SELECT message_id FROM order_lines GROUP BY message_id, sku HAVING count(*) > 1) d"));

        // Nothing stuck in Redis and no dead letters: not-MIME and over-limit emails are flagged without being queued, and no valid
        // email failed for good.
        Assert.Equal(0, await r.ListLengthAsync(root + ":ready"));
        Assert.Equal(0, await r.SortedSetLengthAsync(root + ":delayed"));
        Assert.Equal(0, await r.SortedSetLengthAsync(root + ":leases"));
        Assert.Equal(0, await r.SortedSetLengthAsync(root + ":dead"));

        // Redundant handling, measured on our own. Publishes: the queue's own counter in Redis, bumped by the publish script for every
        // task it accepts (a publish of an id still in the queue is refused and not counted). Store attempts: our trigger, which counts
        // every INSERT the handlers send (also those that meet a stored Message-ID and roll back), per instance (Application Name).
        var stats = await r.HashGetAllAsync(root + ":stats");
        long Stat(string field) => (long?)stats.FirstOrDefault(e => e.Name == field).Value ?? 0;
        var published = Stat("published");
        var attempts = await StoreAttemptsAsync(db);
        var redundantPublishes = published - queued.Count;
        var redundantRuns = attempts.Values.Sum() - queued.Count;
        output.WriteLine($"{drainedAt.TotalSeconds:0.0} s: drained. {expected.Count} emails ({queued.Count} queued: {expected.Count(e => e.Kind == Kind.Accepted)} accepted, " +
            $"{expected.Count(e => e.Kind == Kind.Rejected)} rejected; {expected.Count(e => e.Kind == Kind.NotMime)} not MIME, {expected.Count(e => e.Kind == Kind.OverLimit)} over the limit); " +
            $"published {published} (redundant {redundantPublishes}), acked {Stat("acked")}, nacked {Stat("nacked")}; store attempts " +
            $"{string.Join(", ", attempts.Select(a => $"{a.Key} {a.Value}"))} (redundant {redundantRuns}); 'already stored' in the bots' logs: " +
            $"{_bots.Sum(b => CountOccurrences(b.Bot.Stdout, "was already stored"))}; leadership taken: " +
            string.Join(", ", _bots.Select(b => $"{b.Name} {CountOccurrences(b.Bot.Stdout, "' leads '")}x")));

        // With one leader, an email is published once. What at-least-once delivery allows on top, and we accept:
        // - After the kill -9, the new leader starts with an empty memory of what was published. An email whose task was already
        //   acknowledged (gone from the queue) but whose \Seen was not yet on the server when the new leader searched is published
        //   again (documented: the handler recognises it by Message-ID). At most the tasks in hand at that moment: one per worker.
        // - A handler run is repeated for the killed instance's tasks that had stored their order but were not acknowledged (their
        //   lease runs out and another instance runs them again), at most its workers; and for tasks whose acknowledgement met the
        //   Redis outage, at most every worker's task in hand. Each republish above is one more run too. An INSERT of the killed
        //   instance that never committed counts as an attempt as well (the counting sequence is not rolled back).
        // Without leadership every instance publishes every unread email: hundreds of redundant publishes and runs for 300 emails.
        const int InHand = Instances * WorkersPerInstance;
        Assert.True(redundantPublishes >= 0, $"published {published} < {queued.Count} queued emails: a publish is missing from the counter");
        Assert.True(redundantPublishes <= InHand, $"{redundantPublishes} redundant publishes; at most {InHand} (tasks in hand at the takeover) are accepted");
        Assert.True(redundantRuns <= InHand + WorkersPerInstance + InHand,
            $"{redundantRuns} handler runs met an already-stored order; at most {InHand + WorkersPerInstance + InHand} are accepted");
        Assert.True(wall.Elapsed < TimeSpan.FromMinutes(3), $"the chaos run took {wall.Elapsed.TotalSeconds:0} s");
    }

    private static bool Seen(IMessageSummary summary) => summary.Flags!.Value.HasFlag(MessageFlags.Seen);

    private static bool FlaggedFailed(IMessageSummary summary) => summary.Keywords.Contains(Failed);

    private static int CountOccurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    private void Start(string folder, int n)
    {
        var port = FreePort();
        var name = $"bot{n}";
        var connectionString = new NpgsqlConnectionStringBuilder(_db!.ConnectionString) { ApplicationName = name }.ConnectionString;
        var bot = BotProcess.Start(new Dictionary<string, string>
        {
            ["MailOrderBot__Source__Mode"] = nameof(SourceMode.ImapIdle),
            ["MailOrderBot__Imap__Host"] = ImapTestServer.Host,
            ["MailOrderBot__Imap__Port"] = ImapPort.ToString(CultureInfo.InvariantCulture),
            ["MailOrderBot__Imap__Security"] = "None",
            ["MailOrderBot__Imap__Username"] = "bot",
            ["MailOrderBot__Imap__Password"] = ImapTestServer.Password,
            ["MailOrderBot__Imap__Folder"] = folder,
            ["MailOrderBot__Imap__ReconcileInterval"] = "00:00:02",
            ["MailOrderBot__Imap__MaxMessageSize"] = "65536",
            ["MailOrderBot__Workers"] = WorkersPerInstance.ToString(CultureInfo.InvariantCulture),
            ["MailOrderBot__Store__Provider"] = "PostgreSql",
            ["MailOrderBot__Store__ConnectionString"] = connectionString,
            ["AppRuntime__Queues__orders__Backend"] = "Redis",
            ["AppRuntime__Queues__orders__VisibilityTimeout"] = "00:00:05", // the killed instance's tasks come back within 5 s
            ["AppRuntime__Redis__Configuration"] = $"127.0.0.1:{RedisPort}",
            ["AppRuntime__Redis__KeyPrefix"] = _prefix,
            ["AppRuntime__Sources__inbox__LeaseDuration"] = "00:00:03", // another instance leads within 4 s of the kill
            ["AppRuntime__ControlPlane__Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
        });
        _bots.Add((bot, port, name));
    }

    /// <summary>
    /// The live bot whose source says it leads (its own view, <c>/api/sources</c>). With leadership off every instance reads the
    /// mailbox (role <c>local</c>), and the first of them is taken, so the run goes on to show what that costs.
    /// </summary>
    private async Task<(BotProcess Bot, int Port, string Name)> LeaderAsync()
    {
        (BotProcess, int, string)? leader = null;
        await Eventually.TrueAsync(async () =>
        {
            foreach (var b in _bots.Where(b => !b.Bot.HasExited))
            {
                if (await RoleAsync(b.Port) is "leader" or "local")
                {
                    leader = b;
                    return true;
                }
            }
            return false;
        }, "one instance leads the inbox source", TimeSpan.FromSeconds(60));
        return leader!.Value;
    }

    private async Task<string?> RoleAsync(int port)
    {
        try
        {
            using var doc = JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{port}/api/sources"));
            var inbox = doc.RootElement.EnumerateArray().Where(s => s.GetProperty("name").GetString() == "inbox").ToList();
            return inbox.Count == 1 ? inbox[0].GetProperty("leadership").GetProperty("role").GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return null; // not listening yet
        }
    }

    private static async Task<long> OrderCountAsync(PostgresSchema db)
    {
        try
        {
            return await db.ScalarAsync("SELECT count(*) FROM orders");
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return 0;
        }
    }

    /// <summary>
    /// Creates the bot's tables (through its own store, so they are exactly its tables) and a trigger of this test's own that counts
    /// every INSERT into <c>orders</c>, per instance (each bot's connection names it as its Application Name). The count is kept in a
    /// sequence, because <c>nextval</c> is not rolled back: the bot rolls back the transaction of an order whose Message-ID is
    /// already stored, and that attempt must still count.
    /// </summary>
    private static async Task CountStoreAttemptsAsync(PostgresSchema db)
    {
        using (var store = new PostgreSqlOrderStore(new MailOrderBotSettings { Store = new StoreSettings { Provider = "PostgreSql", ConnectionString = db.ConnectionString } }))
            await store.GetSummaryAsync(CancellationToken.None);
        var s = db.Name;
        var sequences = string.Concat(Enumerable.Range(0, Instances).Select(n => $"CREATE SEQUENCE \"{s}\".attempts_bot{n};"));
        await db.QueryAsync($"""
            {sequences}
            CREATE FUNCTION "{s}".count_store_attempt() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
              PERFORM nextval(format('%I.%I', TG_TABLE_SCHEMA, 'attempts_' || current_setting('application_name')));
              RETURN NEW;
            END $f$;
            CREATE TRIGGER count_store_attempt BEFORE INSERT ON "{s}".orders FOR EACH ROW EXECUTE FUNCTION "{s}".count_store_attempt();
            """);
    }

    private static async Task<Dictionary<string, long>> StoreAttemptsAsync(PostgresSchema db)
    {
        var attempts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var n = 0; n < Instances; n++)
        {
            var row = (await db.QueryAsync($"SELECT last_value, is_called FROM \"{db.Name}\".attempts_bot{n}"))[0];
            attempts[$"bot{n}"] = (bool)row[1]! ? (long)row[0]! : 0;
        }
        return attempts;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
