// Several instances (issue #17): how fast 1, 2 and 3 Mail Order Bot processes drain one mailbox together.
//   bash tests/infra/dovecot.sh start; bash tests/infra/redis.sh start; bash tests/infra/postgres.sh start
//   dotnet run -c Release --project tests/MailOrderBot.Benchmark -- instances [--emails 1000] [--counts 1,2,3] [--repeat 3] [--bot PATH] [--set 'KEY=VALUE;...']
//       [--user user4] [--redis 127.0.0.1:6390] [--postgres "Host=127.0.0.1;Port=55432;Username=postgres;Database=appruntime"]
//       [--run-timeout 120] [--output artifacts/benchmarks/instances.md] [--bot artifacts/aot/native/MailOrderBot]
// Each run: N bot processes (samples/MailOrderBot/bin/Release/net10.0/MailOrderBot.dll, as an operator runs them) on one IMAP
// INBOX in ImapIdle mode, the orders queue on Redis (a fresh KeyPrefix), the store on PostgreSQL (a fresh schema), leadership on
// (the default), 4 workers each, log level Warning, no control plane. The emails wait in a staging folder of the same user; once
// every instance has started and one leads (the others stand by), the clock starts and one UID MOVE puts all of them into the
// INBOX at once. The run ends when this program's own IMAP session sees every email of the INBOX \Seen (STATUS UNSEEN 0), and
// its own SQL then checks that exactly N orders are stored. Redundant handling, read by this program itself: the queue's
// `published` counter in Redis minus the number of emails, and the store attempts counted by a trigger of its own on `orders`
// (a sequence, so an attempt that meets a stored Message-ID and is rolled back still counts) minus the number of emails.
// The instance counts run interleaved (1, 2, 3, 3, 2, 1, 1, 2, 3, ...) after one unreported warm-up run, so drift on the machine
// spreads; the report adds each round's N ÷ 1 ratio (paired runs of the same round), their median and how many are ≥ 1.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Npgsql;
using StackExchange.Redis;

namespace MailOrderBot.Benchmark;

internal static class Instances
{
    private static readonly Dictionary<string, string> ExtraSettings = new(StringComparer.Ordinal);

    public static async Task<int> RunAsync(Dictionary<string, string> options, string repoRoot)
    {
        var emails = int.Parse(options.GetValueOrDefault("emails", "1000"), CultureInfo.InvariantCulture);
        var repeat = int.Parse(options.GetValueOrDefault("repeat", "3"), CultureInfo.InvariantCulture);
        var counts = options.GetValueOrDefault("counts", "1,2,3").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var warmup = int.Parse(options.GetValueOrDefault("warmup", "20"), CultureInfo.InvariantCulture);
        var timeout = TimeSpan.FromSeconds(int.Parse(options.GetValueOrDefault("run-timeout", "120"), CultureInfo.InvariantCulture));
        var imap = new ImapAccount(
            Environment.GetEnvironmentVariable("APPRUNTIME_IMAP_HOST") is { Length: > 0 } h ? h : "127.0.0.1",
            int.TryParse(Environment.GetEnvironmentVariable("APPRUNTIME_IMAP_PORT"), out var p) ? p : 10143,
            options.GetValueOrDefault("user", "user4"), // a spare user of tests/infra/dovecot.sh that no test uses (user5: the other benchmark)
            "secret");
        var redis = options.GetValueOrDefault("redis", Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6390");
        var postgres = options.GetValueOrDefault("postgres",
            Environment.GetEnvironmentVariable("APPRUNTIME_POSTGRES") is { Length: > 0 } pg ? pg : "Host=127.0.0.1;Port=55432;Username=postgres;Database=appruntime");
        var output = Path.GetFullPath(options.GetValueOrDefault("output", Path.Combine(repoRoot, "artifacts", "benchmarks", "instances.md")), repoRoot);
        // --bot: the bot to run, a MailOrderBot.dll (run with dotnet) or a native AOT binary (tests/aot/publish.sh:
        // artifacts/aot/native/MailOrderBot); default the Release build of samples/MailOrderBot.
        var dll = Path.GetFullPath(options.GetValueOrDefault("bot", Path.Combine(repoRoot, "samples", "MailOrderBot", "bin", "Release", "net10.0", "MailOrderBot.dll")), repoRoot);
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"{dll} is missing; build it with: dotnet build -c Release samples/MailOrderBot (or bash tests/aot/publish.sh for the native binary)");
            return 2;
        }
        Console.WriteLine($"bot: {dll}");
        // --set: extra settings for every bot, as configuration keys ("AppRuntime:Redis:Prefetch=8;MailOrderBot:Workers=4").
        foreach (var pair in options.GetValueOrDefault("set", "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                Console.Error.WriteLine($"--set expects KEY=VALUE pairs separated by ';' (was '{pair}')");
                return 2;
            }
            ExtraSettings[pair[..eq].Replace(":", "__", StringComparison.Ordinal)] = pair[(eq + 1)..];
        }
        if (ExtraSettings.Count > 0)
            Console.WriteLine($"extra bot settings: {string.Join("; ", ExtraSettings.Select(kv => $"{kv.Key}={kv.Value}"))}");

        using var multiplexer = await ConnectionMultiplexer.ConnectAsync(redis);
        var machine = Machine.Describe();
        Console.WriteLine($"Several instances: {emails} emails per run, instance counts {string.Join(", ", counts)}, {repeat} run(s) each; IMAP {imap.Host}:{imap.Port} user {imap.User}, Redis {redis}");
        Console.WriteLine(machine);

        await RunOnceAsync(dll, imap, multiplexer, redis, postgres, 1, Math.Min(emails, 100), warmup, timeout, quiet: true); // warm-up (Dovecot, PostgreSQL, disk caches)
        var results = counts.ToDictionary(c => c, _ => new List<InstanceRun>());
        for (var round = 0; round < repeat; round++)
        {
            // Every other round runs the counts in reverse, so that no count always runs first (right after the warm-up or the
            // previous round's cleanup).
            foreach (var n in round % 2 == 0 ? counts : counts.Reverse())
                results[n].Add(await RunOnceAsync(dll, imap, multiplexer, redis, postgres, n, emails, warmup, timeout, quiet: false));
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Mail Order Bot, several instances on one mailbox, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {machine}; bot {Path.GetFileName(dll)}");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{repeat} runs per row, interleaved: median, with the range of all runs in brackets. Redundant = over all runs of the row.");
        report.AppendLine();
        report.AppendLine("| instances | emails | MOVE → first order (s) | MOVE → all \\Seen (s) | emails/s (MOVE → all \\Seen) | emails/s (first order → all \\Seen) | bots' CPU s (MOVE → all \\Seen) | published − emails | store attempts − emails | store attempts by instance (warm-up and batch, all runs) | result |");
        report.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var (n, runs) in results)
        {
            var ok = runs.Where(x => x.Seen is not null).ToList();
            var seen = ok.Select(x => x.Seen!.Value.TotalSeconds).Order().ToArray();
            var first = ok.Select(x => x.First!.Value.TotalSeconds).Order().ToArray();
            var rate = ok.Select(Rate).Order().ToArray();
            var steady = ok.Select(x => (x.Emails - 1) / (x.Seen!.Value - x.First!.Value).TotalSeconds).Order().ToArray();
            var outcome = runs.All(x => x.Outcome == "ok") ? "ok" : string.Join("; ", runs.Select(x => x.Outcome).Where(o => o != "ok"));
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {n} | {emails} | {Range(first, "0.00")} | {Range(seen, "0.00")} | {Range(rate, "0")} | {Range(steady, "0")} | {Range(ok.Select(x => x.CpuSeconds).Order().ToArray(), "0.00")} | {string.Join(" · ", runs.Select(x => x.RedundantPublishes))} | {string.Join(" · ", runs.Select(x => x.RedundantAttempts))} | {string.Join(" · ", runs.Select(x => x.PerInstance))} | {outcome} |");
        }

        // Paired ratios: each round runs every count once, back to back, so a round's N ÷ first count compares runs taken under the
        // same drift of the machine; their median and how many are ≥ 1 say more than the ratio of two medians.
        if (counts.Length > 1)
        {
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"| paired ratio (each round's emails/s ÷ its {counts[0]}-instance run) | median | range | rounds ≥ 1 |");
            report.AppendLine("|---|---:|---|---:|");
            foreach (var n in counts.Skip(1))
            {
                var ratios = Enumerable.Range(0, repeat)
                    .Where(i => results[n][i].Seen is not null && results[counts[0]][i].Seen is not null)
                    .Select(i => Rate(results[n][i]) / Rate(results[counts[0]][i]))
                    .Order().ToArray();
                if (ratios.Length == 0)
                    continue;
                report.AppendLine(CultureInfo.InvariantCulture,
                    $"| {n} ÷ {counts[0]} | {Median(ratios).ToString("0.00", CultureInfo.InvariantCulture)} | {ratios[0].ToString("0.00", CultureInfo.InvariantCulture)}–{ratios[^1].ToString("0.00", CultureInfo.InvariantCulture)} | {ratios.Count(r => r >= 1)} of {ratios.Length} |");
            }
        }

        Console.WriteLine();
        Console.Write(report);
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        await File.WriteAllTextAsync(output, report.ToString());
        Console.WriteLine();
        Console.WriteLine($"written to {output}");
        return results.Values.SelectMany(x => x).All(x => x.Outcome == "ok") ? 0 : 1;
    }

    /// <summary>Emails per second of a finished run, from the MOVE to all \Seen.</summary>
    private static double Rate(InstanceRun run) => run.Emails / run.Seen!.Value.TotalSeconds;

    private static string Range(double[] sorted, string format) => sorted.Length == 0
        ? "-"
        : string.Create(CultureInfo.InvariantCulture, $"{Median(sorted).ToString(format, CultureInfo.InvariantCulture)} [{sorted[0].ToString(format, CultureInfo.InvariantCulture)}–{sorted[^1].ToString(format, CultureInfo.InvariantCulture)}]");

    private static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

    private static async Task<InstanceRun> RunOnceAsync(string dll, ImapAccount imap, ConnectionMultiplexer redis, string redisEndpoint, string postgres,
        int instances, int emails, int warmup, TimeSpan timeout, bool quiet)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var prefix = "bench-instances-" + id;
        var schema = "bench_" + id;
        const string Staging = "bench-staging";
        const string WarmStaging = "bench-warmup";
        await using var server = NpgsqlDataSource.Create(postgres);
        await PrepareSchemaAsync(server, postgres, schema, instances);
        var storeConnection = new NpgsqlConnectionStringBuilder(postgres) { SearchPath = schema };

        // The emails wait in the staging folder; the INBOX is empty while the instances start.
        using (var client = await Mailbox.ConnectAsync(imap))
        {
            foreach (var name in new[] { "INBOX", Staging, WarmStaging })
            {
                var folder = name == "INBOX" ? client.Inbox : await GetOrCreateAsync(client, name);
                await folder.OpenAsync(FolderAccess.ReadWrite);
                if (folder.Count > 0)
                {
                    await folder.AddFlagsAsync(UniqueIdRange.All, MessageFlags.Deleted, silent: true);
                    await folder.ExpungeAsync();
                }
                await folder.CloseAsync();
            }
            var staging = await client.GetFolderAsync(Staging);
            foreach (var batch in Enumerable.Range(0, emails).Select(i => Orders.Email(id, i)).Chunk(100))
                await staging.AppendAsync(batch.Select(m => (IAppendRequest)new AppendRequest(m, MessageFlags.None)).ToList());
            var warm = await client.GetFolderAsync(WarmStaging);
            if (warmup > 0)
                await warm.AppendAsync(Enumerable.Range(0, warmup * instances).Select(i => (IAppendRequest)new AppendRequest(Orders.Email(id + "-warm", i), MessageFlags.None)).ToList());
            await client.DisconnectAsync(true);
        }

        var bots = new List<Bot>();
        var outcome = "ok";
        TimeSpan? first = null;
        TimeSpan? seen = null;
        var cpu = 0.0;
        var cpuBy = "-";
        var warmedBy = "-";
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            for (var n = 0; n < instances; n++)
            {
                storeConnection.ApplicationName = $"bot{n}";
                bots.Add(StartBot(dll, new Dictionary<string, string>
                {
                    ["MailOrderBot__Source__Mode"] = "ImapIdle",
                    ["MailOrderBot__Imap__Host"] = imap.Host,
                    ["MailOrderBot__Imap__Port"] = imap.Port.ToString(CultureInfo.InvariantCulture),
                    ["MailOrderBot__Imap__Security"] = "None",
                    ["MailOrderBot__Imap__Username"] = imap.User,
                    ["MailOrderBot__Imap__Password"] = imap.Password,
                    ["MailOrderBot__Imap__Folder"] = "INBOX",
                    ["MailOrderBot__Store__Provider"] = "PostgreSql",
                    ["MailOrderBot__Store__ConnectionString"] = storeConnection.ConnectionString,
                    ["AppRuntime__Queues__orders__Backend"] = "Redis",
                    ["AppRuntime__Redis__Configuration"] = redisEndpoint,
                    ["AppRuntime__Redis__KeyPrefix"] = prefix,
                    ["AppRuntime__ControlPlane__Enabled"] = "false",
                    ["Logging__LogLevel__Default"] = "Warning",
                    // Information only for the start line and the leadership lines, which say when the instance is ready.
                    ["Logging__LogLevel__AppRuntime.Runtime"] = "Information",
                    ["Logging__LogLevel__AppRuntime.Source"] = "Information",
                }));
            }

            // Every instance is up and one leads while the others stand by (their own log lines), before any email arrives.
            while (bots.Sum(b => b.Started) < instances || bots.Sum(b => b.Leading) != 1 || bots.Sum(b => b.StandingBy) < instances - 1)
            {
                if (bots.FirstOrDefault(b => b.Process.HasExited) is { } exited)
                    throw new InvalidOperationException($"a bot exited with code {exited.Process.ExitCode} while starting");
                await Task.Delay(20, deadline.Token);
            }

            using var watcher = await Mailbox.ConnectAsync(imap, deadline.Token);
            // Warm-up: a few emails per instance first, so each process has run the handler, the store and the \Seen STORE once
            // (JIT, connection pools, the completion session) before the clock starts; the measured batch then finds warm processes.
            var warmed = warmup * instances;
            if (warmed > 0)
            {
                await MoveAllAsync(imap, WarmStaging, deadline.Token);
                while (true)
                {
                    await watcher.Inbox.StatusAsync(StatusItems.Unread | StatusItems.Count, deadline.Token);
                    if (watcher.Inbox.Count == warmed && watcher.Inbox.Unread == 0)
                        break;
                    await Task.Delay(20, deadline.Token);
                }
            }
            var warmAttempts = await AttemptsAsync(server, schema, instances);
            var cpuBefore = bots.Select(b => CpuSeconds(b.Process.Id)).ToList();
            using (var mover = await Mailbox.ConnectAsync(imap, deadline.Token))
            {
                var staging = await mover.GetFolderAsync(Staging, deadline.Token);
                await staging.OpenAsync(FolderAccess.ReadWrite, deadline.Token);
                var clock = Stopwatch.StartNew();
                await staging.MoveToAsync(UniqueIdRange.All, mover.Inbox, deadline.Token); // all emails arrive at once
                var moved = clock.Elapsed;
                await mover.DisconnectAsync(true, deadline.Token);
                while (seen is null)
                {
                    if (first is null && await ScalarAsync(server, $"SELECT count(*) FROM \"{schema}\".orders", deadline.Token) > warmed)
                        first = clock.Elapsed;
                    await watcher.Inbox.StatusAsync(StatusItems.Unread | StatusItems.Count, deadline.Token);
                    if (watcher.Inbox.Count == emails + warmed && watcher.Inbox.Unread == 0)
                        seen = clock.Elapsed;
                    else
                        await Task.Delay(20, deadline.Token);
                }
                first ??= seen;
                if (!quiet)
                    Console.Write(string.Create(CultureInfo.InvariantCulture, $"(MOVE took {moved.TotalSeconds:0.00} s) "));
            }
            var perBot = bots.Select((b, i) => CpuSeconds(b.Process.Id) - cpuBefore[i]).ToList();
            cpu = perBot.Sum();
            cpuBy = string.Join("/", perBot.Select(c => c.ToString("0.00", CultureInfo.InvariantCulture)));
            warmedBy = string.Join("/", warmAttempts);
            await watcher.DisconnectAsync(true, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            outcome = $"TIMEOUT after {timeout.TotalSeconds:0} s";
        }
        catch (InvalidOperationException ex)
        {
            outcome = "FAILED: " + ex.Message;
        }

        var stopped = Stopwatch.StartNew();
        foreach (var bot in bots)
            Signal(bot.Process.Id, "TERM");
        foreach (var bot in bots)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await bot.Process.WaitForExitAsync(stop.Token);
                if (bot.Process.ExitCode != 0 && outcome == "ok")
                    outcome = $"a bot exited with code {bot.Process.ExitCode}";
            }
            catch (OperationCanceledException)
            {
                bot.Process.Kill();
                outcome = "a bot did not stop within 30 s";
            }
            bot.Process.Dispose();
        }

        var stored = await ScalarAsync(server, $"SELECT count(*) FROM \"{schema}\".orders WHERE status = 'accepted'", CancellationToken.None);
        var total = await ScalarAsync(server, $"SELECT count(*) FROM \"{schema}\".orders", CancellationToken.None);
        var expected = emails + (seen is null ? 0 : warmup * instances);
        if (outcome == "ok" && (stored != expected || total != expected))
            outcome = $"wrong: {stored} accepted of {total} stored";
        var published = (long?)await redis.GetDatabase().HashGetAsync($"{prefix}:{{orders}}:stats", "published") ?? 0;
        var attempts = await AttemptsAsync(server, schema, instances);
        var run = new InstanceRun(instances, emails, first, seen, published - expected, attempts.Sum() - expected, string.Join("/", attempts), outcome)
        {
            CpuSeconds = cpu,
            WarmedBy = warmedBy,
        };

        await using (var drop = server.CreateCommand($"DROP SCHEMA \"{schema}\" CASCADE"))
            await drop.ExecuteNonQueryAsync();
        foreach (var endpoint in redis.GetEndPoints())
        {
            var keys = redis.GetServer(endpoint).KeysAsync(pattern: prefix + ":*");
            await foreach (var key in keys)
                await redis.GetDatabase().KeyDeleteAsync(key);
        }

        if (!quiet)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{instances} instance(s), {emails} emails: first order {Seconds(first)} s, all \\Seen {Seconds(seen)} s ({(seen is { } s ? emails / s.TotalSeconds : 0):0} emails/s), published {published}, store attempts {run.PerInstance} (warm-up {warmedBy}), bots' CPU {cpu:0.00} s ({cpuBy}), stop {stopped.Elapsed.TotalSeconds:0.0} s, {outcome}"));
        }
        return run;
    }

    private static async Task<List<long>> AttemptsAsync(NpgsqlDataSource server, string schema, int instances)
    {
        var attempts = new List<long>();
        for (var n = 0; n < instances; n++)
            attempts.Add(await ScalarAsync(server, $"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM \"{schema}\".attempts_bot{n}", CancellationToken.None));
        return attempts;
    }

    private static async Task MoveAllAsync(ImapAccount imap, string from, CancellationToken cancellationToken)
    {
        using var mover = await Mailbox.ConnectAsync(imap, cancellationToken);
        var folder = await mover.GetFolderAsync(from, cancellationToken);
        await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
        await folder.MoveToAsync(UniqueIdRange.All, mover.Inbox, cancellationToken);
        await mover.DisconnectAsync(true, cancellationToken);
    }

    /// <summary>User + system CPU time of a process so far (<c>/proc/&lt;pid&gt;/stat</c>, fields 14 and 15, in clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static string Seconds(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static async Task<IMailFolder> GetOrCreateAsync(ImapClient client, string name)
    {
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        var existing = (await root.GetSubfoldersAsync()).FirstOrDefault(f => f.Name == name);
        return existing ?? await root.CreateAsync(name, true) ?? throw new InvalidOperationException($"the server did not create {name}");
    }

    /// <summary>A fresh schema with the bot's tables (created by the bot's own store) and the store-attempt trigger.</summary>
    private static async Task PrepareSchemaAsync(NpgsqlDataSource server, string postgres, string schema, int instances)
    {
        await using (var create = server.CreateCommand($"CREATE SCHEMA \"{schema}\""))
            await create.ExecuteNonQueryAsync();
        var connectionString = new NpgsqlConnectionStringBuilder(postgres) { SearchPath = schema }.ConnectionString;
        using (var store = new PostgreSqlOrderStore(new MailOrderBotSettings { Store = new StoreSettings { Provider = "PostgreSql", ConnectionString = connectionString } }))
            await store.GetSummaryAsync(CancellationToken.None);
        var sequences = string.Concat(Enumerable.Range(0, instances).Select(n => $"CREATE SEQUENCE \"{schema}\".attempts_bot{n};"));
        await using var command = server.CreateCommand($"""
            {sequences}
            CREATE FUNCTION "{schema}".count_store_attempt() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
              PERFORM nextval(format('%I.%I', TG_TABLE_SCHEMA, 'attempts_' || current_setting('application_name')));
              RETURN NEW;
            END $f$;
            CREATE TRIGGER count_store_attempt BEFORE INSERT ON "{schema}".orders FOR EACH ROW EXECUTE FUNCTION "{schema}".count_store_attempt();
            """);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource server, string sql, CancellationToken cancellationToken)
    {
        await using var command = server.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>A bot process and what its log said so far.</summary>
    private sealed class Bot(Process process)
    {
        private int _started;
        private int _leading;
        private int _standingBy;

        public Process Process { get; } = process;

        public int Started => Volatile.Read(ref _started);

        public int Leading => Volatile.Read(ref _leading);

        public int StandingBy => Volatile.Read(ref _standingBy);

        public void Read(string line)
        {
            if (line.Contains("AppRuntime started", StringComparison.Ordinal))
                Volatile.Write(ref _started, 1);
            else if (line.Contains("' leads '", StringComparison.Ordinal))
                Volatile.Write(ref _leading, 1);
            else if (line.Contains("' stands by", StringComparison.Ordinal))
                Volatile.Write(ref _standingBy, 1);
            else if (line.StartsWith("info:", StringComparison.Ordinal) || line.StartsWith("      ", StringComparison.Ordinal) && !line.Contains("Exception", StringComparison.Ordinal))
                return;
            else
                Console.WriteLine($"  [{Process.Id}] {line}"); // warnings and errors, as the bot writes them
        }
    }

    private static Bot StartBot(string dll, Dictionary<string, string> environment)
    {
        var native = !dll.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(native ? dll : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (!native)
            start.ArgumentList.Add(dll);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MailOrderBot__", StringComparison.Ordinal) || k.StartsWith("AppRuntime__", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        foreach (var (key, value) in ExtraSettings)
            start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var bot = new Bot(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) bot.Read(line); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) bot.Read(line); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return bot;
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid.ToString(CultureInfo.InvariantCulture)}") { UseShellExecute = false })!;
        kill.WaitForExit();
    }
}

internal sealed record InstanceRun(int Instances, int Emails, TimeSpan? First, TimeSpan? Seen, long RedundantPublishes, long RedundantAttempts, string PerInstance, string Outcome)
{
    /// <summary>CPU seconds all bot processes used from the MOVE until every email was \Seen.</summary>
    public double CpuSeconds { get; init; }

    /// <summary>Store attempts per instance after the warm-up batch.</summary>
    public string WarmedBy { get; init; } = "-";
}
