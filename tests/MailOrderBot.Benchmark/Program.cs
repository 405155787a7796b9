// The Mail Order Bot on a real Dovecot: how long N order emails take from runtime start to "all stored and all \Seen".
//   bash tests/infra/dovecot.sh start
//   dotnet run -c Release --project tests/MailOrderBot.Benchmark -- [--emails 1000] [--user user5] [--run-timeout 120]
//       [--repeat 5] [--latency-emails 20] [--output artifacts/benchmarks/mail.md] [--log Warning|Information|Debug]
// For each of {ImapPolling, ImapIdle} x {1, 4 workers}: empty the user's INBOX, APPEND N order emails (MULTIAPPEND batches),
// then build the bot in this process the way samples/MailOrderBot/Program.cs does (AddAppRuntime().AddRedisQueues()
// .AddTelemetry().AddMailOrderBotModule(), its appsettings.json) with overrides for the mode, the IMAP account, the workers and a
// fresh SQLite file, start it and wait (with a deadline) until N orders are in the store and the folder has no unseen message.
// Each combination runs --repeat times; the table shows the median and the range. Then, for IDLE, the arrival latency: with the
// bot running and idle, APPEND one email at a time and time APPEND -> order stored. Last, the cost of the pieces on their own
// (one IMAP session fetching N messages, N \Seen STOREs on one session, N order saves through the bot's SqliteOrderStore).
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using AppRuntime;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using AppRuntime.Mail;
using MailOrderBot.Domain;
using MailOrderBot.Module;
using MailOrderBot.Services;
using MailOrderBot.Sources;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MimeKit;

// `instances` as the first argument: 1, 2 and 3 bot processes on one mailbox (Instances.cs, issue #17).
var instancesMode = args.Length > 0 && args[0] == "instances";
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = instancesMode ? 1 : 0; i + 1 < args.Length; i += 2)
    options[args[i].TrimStart('-')] = args[i + 1];
if (instancesMode)
    return await MailOrderBot.Benchmark.Instances.RunAsync(options, FindRepoRoot());
var emails = int.Parse(options.GetValueOrDefault("emails", "1000"), CultureInfo.InvariantCulture);
var repeat = int.Parse(options.GetValueOrDefault("repeat", "5"), CultureInfo.InvariantCulture);
var latencyEmails = int.Parse(options.GetValueOrDefault("latency-emails", "20"), CultureInfo.InvariantCulture);
var runTimeout = TimeSpan.FromSeconds(int.Parse(options.GetValueOrDefault("run-timeout", "120"), CultureInfo.InvariantCulture));
var imap = new ImapAccount(
    Environment.GetEnvironmentVariable("APPRUNTIME_IMAP_HOST") is { Length: > 0 } h ? h : "127.0.0.1",
    int.TryParse(Environment.GetEnvironmentVariable("APPRUNTIME_IMAP_PORT"), out var p) ? p : 10143,
    options.GetValueOrDefault("user", "user5"), // a spare user of tests/infra/dovecot.sh that no test uses
    "secret");
BotRun.LogLevel = options.GetValueOrDefault("log", "Warning");
var repoRoot = FindRepoRoot();
var output = Path.GetFullPath(options.GetValueOrDefault("output", Path.Combine(repoRoot, "artifacts", "benchmarks", "mail.md")), repoRoot);

if (await CheckServerAsync(imap) is { } problem)
{
    Console.Error.WriteLine($"No usable IMAP server at {imap.Host}:{imap.Port} ({problem}); start it with: bash tests/infra/dovecot.sh start");
    return 2;
}

var machine = Machine.Describe();
Console.WriteLine($"Mail Order Bot benchmark: {emails} emails per run, IMAP {imap.Host}:{imap.Port} user {imap.User}, run deadline {runTimeout.TotalSeconds:0} s");
Console.WriteLine(machine);
Console.WriteLine();

// Warm-up (JIT, SQLite, Dovecot caches): a small polling run whose numbers are not reported.
await RunBatchAsync(imap, SourceMode.ImapPolling, 4, Math.Min(emails, 50), runTimeout, quiet: true);

var results = new List<List<BatchResult>>();
foreach (var mode in new[] { SourceMode.ImapPolling, SourceMode.ImapIdle })
{
    foreach (var workers in new[] { 1, 4 })
    {
        var runs = new List<BatchResult>();
        for (var r = 0; r < repeat; r++)
            runs.Add(await RunBatchAsync(imap, mode, workers, emails, runTimeout, quiet: false));
        results.Add(runs);
    }
}

var latency = await RunIdleLatencyAsync(imap, latencyEmails, runTimeout);
var parts = await Components.MeasureAsync(imap, emails);

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"Mail Order Bot on Dovecot, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {machine}");
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"{repeat} runs per row: median, with the range of all runs in brackets. Retries = nacks (failed attempts retried after the pool's 500 ms delay), summed over the runs.");
report.AppendLine();
report.AppendLine("| source | workers | emails | StartAsync (s) | start → first order (s) | start → all stored (s) | start → all \\Seen (s) | throughput, start → all \\Seen (emails/s) | throughput, first order → all \\Seen (emails/s) | retries | result |");
report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
foreach (var runs in results)
{
    var first = runs[0];
    var ok = runs.Where(r => r.Seen is not null).ToList();
    var firsts = ok.Select(r => r.First!.Value.TotalSeconds).Order().ToArray();
    var starts = runs.Where(r => r.StartAsync is not null).Select(r => r.StartAsync!.Value.TotalSeconds).Order().ToArray();
    var stored = ok.Select(r => r.Stored!.Value.TotalSeconds).Order().ToArray();
    var seen = ok.Select(r => r.Seen!.Value.TotalSeconds).Order().ToArray();
    var outcome = runs.All(r => r.Outcome == "ok") ? "ok" : string.Join("; ", runs.Select(r => r.Outcome).Where(o => o != "ok"));
    var steady = ok.Select(r => (r.Emails - 1) / (r.Seen!.Value - r.First!.Value).TotalSeconds).Order().ToArray();
    var steadyRate = steady.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{Median(steady):0} [{steady[0]:0}–{steady[^1]:0}]");
    string Range(double[] v) => v.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{Median(v):0.00} [{v[0]:0.00}–{v[^1]:0.00}]");
    var rate = seen.Length == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{first.Emails / Median(seen):0} [{first.Emails / seen[^1]:0}–{first.Emails / seen[0]:0}]");
    report.AppendLine(CultureInfo.InvariantCulture,
        $"| {first.Mode} | {first.Workers} | {first.Emails} | {Range(starts)} | {Range(firsts)} | {Range(stored)} | {Range(seen)} | {rate} | {steadyRate} | {runs.Sum(r => r.Nacked)} | {outcome} |");
}
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"IDLE arrival latency (bot running and idle, 4 workers; {latency.Samples.Count} emails APPENDed one at a time; APPEND sent → order stored):");
report.AppendLine();
report.AppendLine("| case | emails | p50 (ms) | p95 (ms) | min (ms) | max (ms) | processed twice | result |");
report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
if (latency.Samples.Count > 0)
{
    var sorted = latency.Samples.Select(t => t.TotalMilliseconds).Order().ToArray();
    report.AppendLine(CultureInfo.InvariantCulture,
        $"| ImapIdle arrival | {sorted.Length} | {Percentile(sorted, 0.50):0} | {Percentile(sorted, 0.95):0} | {sorted[0]:0} | {sorted[^1]:0} | {latency.Redelivered} | {latency.Outcome} |");
}
else
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| ImapIdle arrival | 0 | - | - | - | - | {latency.Redelivered} | {latency.Outcome} |");
}

report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture, $"The pieces on their own ({emails} emails, no bot): {parts}");

Console.WriteLine();
Console.Write(report);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
await File.WriteAllTextAsync(output, report.ToString());
Console.WriteLine();
Console.WriteLine($"written to {output}");
return results.SelectMany(r => r).All(r => r.Outcome == "ok") && latency.Outcome == "ok" ? 0 : 1;

static string Seconds(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) : "-";

static double Median(double[] sorted) =>
    sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

static double Percentile(double[] sorted, double q)
{
    // Nearest rank.
    var rank = (int)Math.Ceiling(q * sorted.Length);
    return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
}

static async Task<BatchResult> RunBatchAsync(ImapAccount imap, SourceMode mode, int workers, int emails, TimeSpan runTimeout, bool quiet)
{
    var runId = Guid.NewGuid().ToString("N")[..8];
    await Mailbox.EmptyAsync(imap);
    var append = Stopwatch.StartNew();
    await Mailbox.AppendAsync(imap, Enumerable.Range(0, emails).Select(i => Orders.Email(runId, i)));
    append.Stop();

    using var run = new BotRun(imap, mode, workers);
    using var deadline = new CancellationTokenSource(runTimeout);
    using var seen = await Mailbox.OpenCounterAsync(imap);
    TimeSpan? first = null;
    TimeSpan? startAsync = null;
    TimeSpan? stored = null;
    TimeSpan? allSeen = null;
    var outcome = "ok";
    var clock = Stopwatch.StartNew();
    try
    {
        await run.Host.StartAsync(deadline.Token);
        startAsync = clock.Elapsed;
        while (stored is null)
        {
            var processed = run.Processed;
            if (processed > 0 && first is null)
                first = clock.Elapsed;
            if (processed >= emails)
                stored = clock.Elapsed;
            else if ((await run.QueueStatsAsync()).DeadLettered > 0)
                break; // a dead-lettered email is never stored nor \Seen: report it instead of waiting for the deadline
            else
                await Task.Delay(TimeSpan.FromMilliseconds(20), deadline.Token);
        }
        if (stored is null)
            outcome = $"FAILED after {clock.Elapsed.TotalSeconds:0.0} s with {run.Processed} stored";
        while (stored is not null && allSeen is null)
        {
            if (await seen.UnseenAsync(deadline.Token) == 0)
                allSeen = clock.Elapsed;
            else
                await Task.Delay(TimeSpan.FromMilliseconds(20), deadline.Token);
        }
        var (accepted, total) = run.CountAccepted(); // checked once, after the clock stopped
        if (stored is not null && (accepted != emails || total != emails))
            outcome = $"wrong: {accepted} accepted of {total} stored";
    }
    catch (OperationCanceledException) when (deadline.IsCancellationRequested)
    {
        outcome = $"TIMEOUT after {runTimeout.TotalSeconds:0} s ({run.Processed} stored)";
    }
    var stats = await run.QueueStatsAsync();
    if (stats.DeadLettered > 0)
        outcome += $" ({stats.DeadLettered} dead-lettered)";
    await run.StopAsync();

    if (!quiet)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mode,-12} workers={workers} emails={emails}: append {append.Elapsed.TotalSeconds:0.00} s, StartAsync {Seconds(startAsync)} s, first {Seconds(first)} s, stored {Seconds(stored)} s, seen {Seconds(allSeen)} s, published {stats.Published}, acked {stats.Acked}, nacked {stats.Nacked}, redelivered {run.Host.Services.GetRequiredService<OrderStats>().Duplicates}, {outcome}"));
    }
    return new BatchResult(mode, workers, emails, append.Elapsed, first, stored, allSeen, stats.Nacked, outcome) { StartAsync = startAsync };
}

static async Task<LatencyResult> RunIdleLatencyAsync(ImapAccount imap, int count, TimeSpan runTimeout)
{
    var runId = Guid.NewGuid().ToString("N")[..8];
    await Mailbox.EmptyAsync(imap);
    using var run = new BotRun(imap, SourceMode.ImapIdle, workers: 4);
    using var deadline = new CancellationTokenSource(runTimeout);
    var samples = new List<TimeSpan>();
    var outcome = "ok";
    var duplicates = 0L;
    try
    {
        await run.Host.StartAsync(deadline.Token);
        await run.Host.Services.GetRequiredService<RuntimeManager>().WaitUntilDrainedAsync(deadline.Token);

        using var client = await Mailbox.ConnectAsync(imap, deadline.Token);
        var inbox = client.Inbox;
        for (var i = 0; i < count; i++)
        {
            var message = Orders.Email(runId, i);
            using var perEmail = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            perEmail.CancelAfter(TimeSpan.FromSeconds(30));
            var clock = Stopwatch.StartNew();
            await inbox.AppendAsync(message, MessageFlags.None, perEmail.Token);
            // Looked up by Message-ID (a WAL reader never blocks the bot's writer): a counter would also count redeliveries.
            while (!run.HasOrder(message.MessageId!))
                await Task.Delay(TimeSpan.FromMilliseconds(5), perEmail.Token);
            samples.Add(clock.Elapsed);
        }
        await client.DisconnectAsync(true, deadline.Token);
        duplicates = run.Host.Services.GetRequiredService<OrderStats>().Duplicates;
        if (run.CountOrders() != count)
            outcome = $"wrong: {run.CountOrders()} stored";
    }
    catch (OperationCanceledException)
    {
        outcome = $"TIMEOUT after {samples.Count} of {count}";
    }
    finally
    {
        await run.StopAsync();
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"ImapIdle arrival latency: {samples.Count} emails, {string.Join(' ', samples.Select(s => s.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))} ms, {duplicates} redelivered (already stored), {outcome}"));
    return new LatencyResult(samples, duplicates, outcome);
}

static async Task<string?> CheckServerAsync(ImapAccount imap)
{
    try
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(imap.Host, imap.Port, timeout.Token);
        using var reader = new StreamReader(tcp.GetStream());
        var greeting = await reader.ReadLineAsync(timeout.Token);
        if (greeting is null || !greeting.StartsWith("* OK", StringComparison.Ordinal))
            return $"no '* OK' greeting, got '{greeting}'";
        using var client = await Mailbox.ConnectAsync(imap, timeout.Token);
        await client.DisconnectAsync(true, timeout.Token);
        return null;
    }
    catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ImapProtocolException or AuthenticationException)
    {
        return ex.Message;
    }
}

static string FindRepoRoot()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "infra", "dovecot.sh")))
                return dir.FullName;
        }
    }
    return Directory.GetCurrentDirectory();
}

internal sealed record ImapAccount(string Host, int Port, string User, string Password);

internal sealed record BatchResult(SourceMode Mode, int Workers, int Emails, TimeSpan Append, TimeSpan? First, TimeSpan? Stored, TimeSpan? Seen, long Nacked, string Outcome)
{
    /// <summary>How long <c>IHost.StartAsync</c> took (configuration, queues, pools, sources started; before any IMAP connection).</summary>
    public TimeSpan? StartAsync { get; init; }
}

internal sealed record LatencyResult(List<TimeSpan> Samples, long Redelivered, string Outcome);

/// <summary>The bot, built in this process as samples/MailOrderBot/Program.cs builds it, on a fresh SQLite file in a temp dir.</summary>
internal sealed class BotRun : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"mailbench-{Guid.NewGuid():N}");
    private readonly string _db;

    public BotRun(ImapAccount imap, SourceMode mode, int workers)
    {
        Directory.CreateDirectory(_dir);
        _db = Path.Combine(_dir, "orders.db");
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory, // the bot's appsettings.json (catalogue) is copied next to this binary
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailOrderBot:Source:Mode"] = mode.ToString(),
            ["MailOrderBot:Imap:Host"] = imap.Host,
            ["MailOrderBot:Imap:Port"] = imap.Port.ToString(CultureInfo.InvariantCulture),
            ["MailOrderBot:Imap:Security"] = "None",
            ["MailOrderBot:Imap:Username"] = imap.User,
            ["MailOrderBot:Imap:Password"] = imap.Password,
            ["MailOrderBot:Imap:Folder"] = "INBOX",
            ["MailOrderBot:Imap:PollInterval"] = "00:00:01",
            ["MailOrderBot:Workers"] = workers.ToString(CultureInfo.InvariantCulture),
            ["MailOrderBot:Store:Path"] = _db,
            // One Information line per email on the console would measure the terminal; warnings and errors still show.
            ["Logging:LogLevel:Default"] = LogLevel,
            ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ",
        });
        builder.AddAppRuntime()
            .AddRedisQueues()   // as Program.cs: inactive unless AppRuntime:Queues:orders:Backend=Redis
            .AddTelemetry()     // as Program.cs: exports nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set
            .AddMailOrderBotModule();
        Host = builder.Build();
    }

    public IHost Host { get; }

    /// <summary>The bot's log level (<c>--log</c>, default Warning).</summary>
    public static string LogLevel { get; set; } = "Warning";

    /// <summary>Orders the handler has stored in this run (its in-process counters, so measuring never touches the database).</summary>
    public long Processed
    {
        get
        {
            var stats = Host.Services.GetRequiredService<OrderStats>();
            return stats.Accepted + stats.Rejected; // a redelivery of a stored order is counted apart, in Duplicates
        }
    }

    public async Task<QueueStats> QueueStatsAsync() =>
        await Host.Services.GetRequiredService<RuntimeManager>().GetQueue<ImapMessage>("orders").GetStatsAsync();

    public async Task StopAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await Host.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("warning: the bot did not stop within 30 s");
        }
    }

    public long CountOrders() => Scalar("SELECT COUNT(*) FROM orders") ?? 0;

    public (long Accepted, long Total) CountAccepted() =>
        (Scalar("SELECT COUNT(*) FROM orders WHERE status = 'accepted'") ?? 0, CountOrders());

    public bool HasOrder(string messageId)
    {
        using var connection = Open();
        if (connection is null)
            return false;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM orders WHERE message_id = $id";
        command.Parameters.AddWithValue("$id", messageId);
        try
        {
            return command.ExecuteScalar() is not null;
        }
        catch (SqliteException)
        {
            return false; // the store has not created its tables yet
        }
    }

    public void Dispose()
    {
        Host.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // best effort: a temp dir
        }
    }

    private long? Scalar(string sql)
    {
        using var connection = Open();
        if (connection is null)
            return null;
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return null; // the store has not created its tables yet
        }
    }

    private SqliteConnection? Open()
    {
        if (!File.Exists(_db))
            return null;
        var connection = new SqliteConnection($"Data Source={_db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }
}

/// <summary>The benchmark user's INBOX on Dovecot.</summary>
internal static class Mailbox
{
    public static async Task<ImapClient> ConnectAsync(ImapAccount imap, CancellationToken cancellationToken = default)
    {
        var client = new ImapClient();
        await client.ConnectAsync(imap.Host, imap.Port, SecureSocketOptions.None, cancellationToken);
        await client.AuthenticateAsync(imap.User, imap.Password, cancellationToken);
        return client;
    }

    public static async Task EmptyAsync(ImapAccount imap)
    {
        using var client = await ConnectAsync(imap);
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
        if (client.Inbox.Count > 0)
        {
            await client.Inbox.AddFlagsAsync(UniqueIdRange.All, MessageFlags.Deleted, silent: true);
            await client.Inbox.ExpungeAsync();
        }
        await client.DisconnectAsync(true);
    }

    /// <summary>APPENDs in batches of 100 (one MULTIAPPEND command each when the server supports it, as Dovecot does).</summary>
    public static async Task AppendAsync(ImapAccount imap, IEnumerable<MimeMessage> messages)
    {
        using var client = await ConnectAsync(imap);
        foreach (var batch in messages.Chunk(100))
            await client.Inbox.AppendAsync(batch.Select(m => (IAppendRequest)new AppendRequest(m, MessageFlags.None)).ToList());
        await client.DisconnectAsync(true);
    }

    public static async Task<UnseenCounter> OpenCounterAsync(ImapAccount imap) => new(await ConnectAsync(imap));

    /// <summary>A separate session that asks STATUS (UNSEEN) of the INBOX, which it never selects.</summary>
    internal sealed class UnseenCounter(ImapClient client) : IDisposable
    {
        public async Task<int> UnseenAsync(CancellationToken cancellationToken)
        {
            await client.Inbox.StatusAsync(StatusItems.Unread | StatusItems.Count, cancellationToken);
            return client.Inbox.Unread;
        }

        public void Dispose() => client.Dispose();
    }
}

/// <summary>Small valid orders in the shape of the demo inbox (samples/MailOrderBot/demo-inbox/01-simple-order.eml).</summary>
internal static class Orders
{
    private static readonly string[] Skus = ["SKU-1001", "SKU-1002", "SKU-1003", "SKU-2001", "SKU-2002", "SKU-3001"];

    public static MimeMessage Email(string runId, int i)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress($"Buyer {i}", $"buyer{i}@example.com"));
        message.To.Add(new MailboxAddress("Orders", "orders@shop.example"));
        message.Subject = $"Order {i}";
        message.MessageId = $"bench-{runId}-{i}@shop.example";
        message.Date = new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero).AddSeconds(i);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"Hello,\n\n{Skus[i % Skus.Length]} x {i % 3 + 1}\n{Skus[(i + 2) % Skus.Length]} x 1\n\nName: Buyer {i}\nAddress: {i} Main Street, Springfield\n");
        message.Body = new TextPart("plain") { Text = text };
        return message;
    }
}

/// <summary>The machine the numbers come from.</summary>
internal static class Machine
{
    public static string Describe()
    {
        var cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
        return $"{Environment.ProcessorCount} cores ({cpu}), load average at start {load}, .NET {Environment.Version}";
    }
}

/// <summary>What the pieces cost alone, one at a time: IMAP fetch, IMAP \Seen STORE, SQLite order save.</summary>
internal static class Components
{
    public static async Task<string> MeasureAsync(ImapAccount imap, int emails)
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        await Mailbox.EmptyAsync(imap);
        await Mailbox.AppendAsync(imap, Enumerable.Range(0, emails).Select(i => Orders.Email(runId, i)));

        using var client = await Mailbox.ConnectAsync(imap);
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
        var uids = await client.Inbox.SearchAsync(MailKit.Search.SearchQuery.NotSeen);

        // As the sources do: BODY[] of 50 UIDs per FETCH command (GetStreamsAsync), each parsed with MimeKit.
        var fetch = Stopwatch.StartNew();
        var parsed = 0;
        var inbox = (IImapFolder)client.Inbox;
        foreach (var batch in uids.Chunk(50))
        {
            await inbox.GetStreamsAsync(batch, async (_, _, _, stream, token) =>
            {
                using var message = await MimeMessage.LoadAsync(stream, token);
                parsed += message.TextBody is null ? 0 : 1;
            });
        }
        fetch.Stop();

        var store = Stopwatch.StartNew();
        foreach (var uid in uids)
            await client.Inbox.StoreAsync([uid], new StoreFlagsRequest(StoreAction.Add, MessageFlags.Seen) { Silent = true });
        store.Stop();
        await client.DisconnectAsync(true);

        var save1 = await SaveOrdersAsync(runId, emails, writers: 1);
        var save4 = await SaveOrdersAsync(runId, emails, writers: 4);

        return string.Create(CultureInfo.InvariantCulture,
            $"IMAP fetch+parse {Per(fetch, emails)}, IMAP STORE \\Seen {Per(store, emails)}, SQLite save (order + 2 lines, one transaction) by 1 writer {Per(save1, emails)}, by 4 concurrent writers {Per(save4, emails)}; {parsed} bodies parsed.");
    }

    /// <summary>Saves N orders through the bot's own SqliteOrderStore on a fresh file, from 1 or more concurrent tasks.</summary>
    private static async Task<Stopwatch> SaveOrdersAsync(string runId, int emails, int writers)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"mailbench-{Guid.NewGuid():N}");
        var sqlite = new SqliteOrderStore(new MailOrderBotSettings { Store = new StoreSettings { Path = Path.Combine(dir, "orders.db") } });
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < emails)
            {
                await sqlite.SaveAsync(new OrderOutcome
                {
                    MessageId = $"part-{runId}-{writers}-{i}@shop.example",
                    Status = OrderStatus.Accepted,
                    Customer = $"Buyer {i}",
                    Lines = [new OrderLine("SKU-1001", 2, 2490), new OrderLine("SKU-1003", 1, 1250)],
                    TotalCents = 6230,
                    ReceivedAt = DateTimeOffset.UnixEpoch.AddDays(20000),
                }, CancellationToken.None);
            }
        })));
        clock.Stop();
        SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
        return clock;
    }

    private static string Per(Stopwatch clock, int n) => string.Create(CultureInfo.InvariantCulture,
        $"{clock.Elapsed.TotalSeconds:0.00} s = {clock.Elapsed.TotalMilliseconds * 1000 / n:0} µs/email");
}
