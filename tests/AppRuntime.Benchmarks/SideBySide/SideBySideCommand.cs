using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace AppRuntime.Benchmarks.SideBySide;

/// <summary>
/// <c>sidebyside [--tasks N] [--redis-tasks N] [--redis host:port] [--row-timeout S] [--capacity N] [--rows abcdef] [--tracing both|off|on] [--publishers 1] [--publish-batch 100] [--prefetch 0] [--alloc-types N] [--out FILE]</c>:
/// every row in one process, one after the other, each bounded by a deadline; prints a Markdown table and writes it to a file.
/// </summary>
public static class SideBySideCommand
{
    private static readonly AllocationSampler Sampler = new();

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options.Parse(args);
        var report = new StringBuilder();
        var started = DateTimeOffset.UtcNow;
        Console.Error.WriteLine($"sidebyside: {options.Tasks:N0} in-memory tasks, {options.RedisTasks:N0} Redis tasks, rows '{options.Rows}', row deadline {options.RowTimeout.TotalSeconds:0} s");

        string redisInfo;
        try
        {
            redisInfo = await RedisCleanup.DescribeServerAsync(options.Redis).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A missing server is reported in the table, not fatal for the in-memory rows.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            redisInfo = $"Redis at {options.Redis} not reachable ({ex.GetType().Name}: {ex.Message}); start it with `bash tests/infra/redis.sh start`";
        }
        Console.Error.WriteLine("sidebyside: " + redisInfo);

        var results = new List<RowResult>();
        var benchmarks = new List<RedisBenchmarkResult>();
        var notes = new List<string>();
        var redisFailures = new List<string>();

        void Add(RowResult r)
        {
            results.Add(r);
            Console.Error.WriteLine($"sidebyside: {r.Name}: {(r.Completed ? "ok" : "NOT FINISHED: " + r.Failure)} {r.TasksPerSecond:N0} tasks/s p50 {r.P50Us:N0} µs p99 {r.P99Us:N0} µs alloc {r.AllocatedBytesPerTask:N0} B/task cpu {r.CpuUsPerTask:N2} µs/task contentions {r.ContentionsPer1k:N1}/1k tp-items {r.WorkItemsPerTask:N2}/task");
        }

        var inMemoryWarmup = Math.Clamp(options.Tasks / 10, 1_000, 50_000);
        if (options.Has('a'))
            Add(await MeasureAsync(new RawChannelRow(options.Capacity), "in-memory", options.Tasks, inMemoryWarmup, options, notes).ConfigureAwait(false));
        if (options.Has('b'))
        {
            if (options.Tracing is "both" or "off")
                Add(await MeasureAsync(new AppRuntimeInMemoryRow(options.Capacity, tracing: false), "in-memory", options.Tasks, inMemoryWarmup, options, notes).ConfigureAwait(false));
            if (options.Tracing is "both" or "on")
                Add(await MeasureAsync(new AppRuntimeInMemoryRow(options.Capacity, tracing: true), "in-memory", options.Tasks, inMemoryWarmup, options, notes).ConfigureAwait(false));
        }
        if (options.Has('c'))
            Add(await MeasureAsync(new MassTransitRow(), "in-memory", options.Tasks, inMemoryWarmup, options, notes).ConfigureAwait(false));
        if (options.Has('d'))
        {
            if (options.Tracing is "both" or "off")
                Add(await MeasureAsync(new WolverineRow(tracing: false), "in-memory", options.Tasks, inMemoryWarmup, options, notes).ConfigureAwait(false));
            if (options.Tracing is "both" or "on")
                Add(await MeasureAsync(new WolverineRow(tracing: true), "in-memory", options.Tasks, inMemoryWarmup, options, notes).ConfigureAwait(false));
        }

        var redisWarmup = Math.Clamp(options.RedisTasks / 50, 100, 2_000);
        if (options.Has('e'))
        {
            foreach (var clients in new[] { 1, 50 })
            {
                var (rb, failure) = await RedisBenchmarkRunner.RunAsync(options.Redis, options.RedisTasks, clients, options.RowTimeout).ConfigureAwait(false);
                benchmarks.AddRange(rb);
                if (failure is not null)
                    redisFailures.Add($"redis-benchmark -c {clients}: {failure}");
                foreach (var r in rb)
                    Console.Error.WriteLine($"sidebyside: redis-benchmark {r.Test} -c {r.Clients}: {r.RequestsPerSecond:N0} req/s p50 {r.P50Ms} ms p99 {r.P99Ms} ms");
            }
            Add(await MeasureAsync(new AppRuntimeRedisRow(options.Redis, options.Capacity, 1, options.Prefetch), "redis", options.RedisTasks, redisWarmup, options, notes).ConfigureAwait(false));
            if (options.PublishBatch > 1)
                Add(await MeasureAsync(new AppRuntimeRedisRow(options.Redis, options.Capacity, options.PublishBatch, options.Prefetch), "redis", options.RedisTasks, redisWarmup, options, notes).ConfigureAwait(false));
        }
        if (options.Has('f'))
            Add(await MeasureAsync(new HangfireRow(options.Redis), "redis", options.RedisTasks, redisWarmup, options, notes).ConfigureAwait(false));

        Render(report, options, started, redisInfo, results, benchmarks, notes, redisFailures);
        var text = report.ToString();
        Console.WriteLine(text);
        var outPath = options.Out ?? Path.Combine(FindRepoRoot(), "artifacts", "benchmarks", "sidebyside.md");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
        await File.WriteAllTextAsync(outPath, text).ConfigureAwait(false);
        Console.Error.WriteLine($"sidebyside: wrote {Path.GetFullPath(outPath)}");
        return 0;
    }

    private static async Task<RowResult> MeasureAsync(Row row, string group, int tasks, int warmup, Options options, List<string> notes)
    {
        Console.Error.WriteLine($"sidebyside: {row.Name}: starting");
        using var deadline = new CancellationTokenSource(options.RowTimeout);
        var ct = deadline.Token;
        var sink = new LatencySink(tasks);
        var stage = "start";
        double seconds = 0, allocPerTask = 0, cpuPerTask = 0, contentionsPer1k = 0, workItemsPerTask = 0;
        long contention0 = 0, workItems0 = 0;
        int gen0 = 0, gen1 = 0, gen2 = 0;
        string? failure = null;
        var measuring = false;
        long t0 = 0, alloc0 = 0;
        TimeSpan cpu0 = default;
        int g0 = 0, g1 = 0, g2 = 0;
        try
        {
            await row.StartAsync(ct).WaitAsync(ct).ConfigureAwait(false);

            stage = "warm-up";
            var warm = new LatencySink(warmup);
            LatencySink.Current = warm;
            await DriveAllAsync(row, warmup, options.Publishers, ct).WaitAsync(ct).ConfigureAwait(false);
            await warm.Done.WaitAsync(ct).ConfigureAwait(false);

            stage = "measure";
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            LatencySink.Current = sink;
            g0 = GC.CollectionCount(0);
            g1 = GC.CollectionCount(1);
            g2 = GC.CollectionCount(2);
            cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            alloc0 = GC.GetTotalAllocatedBytes(precise: true);
            contention0 = Monitor.LockContentionCount;
            workItems0 = ThreadPool.CompletedWorkItemCount;
            if (options.AllocTypes > 0)
                Sampler.Enabled = true;
            t0 = Stopwatch.GetTimestamp();
            measuring = true;
            await DriveAllAsync(row, tasks, options.Publishers, ct).WaitAsync(ct).ConfigureAwait(false);
            await sink.Done.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            failure = $"deadline of {options.RowTimeout.TotalSeconds:0} s passed during {stage}";
        }
#pragma warning disable CA1031 // A failing row is reported in the table; the harness goes on with the next one.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var message = ex.Message.Split('\n')[0];
            failure = $"{stage} failed: {ex.GetType().Name}: {(message.Length > 200 ? message[..200] + "…" : message)}";
        }

        Sampler.Enabled = false;
        var handled = measuring ? sink.Handled : 0;
        if (measuring)
        {
            var t1 = Stopwatch.GetTimestamp();
            var alloc1 = GC.GetTotalAllocatedBytes(precise: true);
            var cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
            var contention1 = Monitor.LockContentionCount;
            var workItems1 = ThreadPool.CompletedWorkItemCount;
            seconds = (t1 - t0) / (double)Stopwatch.Frequency;
            var n = Math.Max(1, handled);
            allocPerTask = (alloc1 - alloc0) / (double)n;
            cpuPerTask = (cpu1 - cpu0).TotalMicroseconds / n;
            contentionsPer1k = (contention1 - contention0) * 1000.0 / n;
            workItemsPerTask = (workItems1 - workItems0) / (double)n;
            gen0 = GC.CollectionCount(0) - g0;
            gen1 = GC.CollectionCount(1) - g1;
            gen2 = GC.CollectionCount(2) - g2;
        }
        var (p50, p99) = measuring ? sink.Percentiles() : (double.NaN, double.NaN);
        if (options.AllocTypes > 0)
        {
            var top = Sampler.TakeTop(options.AllocTypes);
            Console.Error.WriteLine($"sidebyside: {row.Name}: sampled allocations by type ({allocPerTask:N0} B/task in all):");
            foreach (var (type, share) in top)
                Console.Error.WriteLine($"    {share,6:P1}  ~{share * allocPerTask,5:N0} B/task  {type}");
        }
        var load = ReadLoad();

        try
        {
            await row.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A row that does not stop cleanly is noted; it must not stop the harness.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            notes.Add($"{row.Name}: stopping failed or timed out ({ex.GetType().Name}: {ex.Message.Split('\n')[0]})");
        }
        notes.Add($"{row.Name}: {row.Notes} Warm-up {warmup:N0} tasks. Load average at the end of the row: {load}.");
        return new RowResult(row.Name, group, failure is null, failure, tasks, handled, seconds, p50, p99, allocPerTask, cpuPerTask, contentionsPer1k, workItemsPerTask, gen0, gen1, gen2, load);
    }

    /// <summary>Publishes tasks 0..n-1 from <paramref name="publishers"/> loops, each owning a contiguous range of sequence numbers.</summary>
    private static Task DriveAllAsync(Row row, int n, int publishers, CancellationToken ct)
    {
        var loops = new Task[publishers];
        for (var p = 0; p < publishers; p++)
        {
            var from = (int)((long)n * p / publishers);
            var to = (int)((long)n * (p + 1) / publishers);
            loops[p] = Task.Run(() => DriveAsync(row, from, to, ct), ct);
        }
        return Task.WhenAll(loops);
    }

    private static async Task DriveAsync(Row row, int from, int to, CancellationToken ct)
    {
        if (row.PublishBatch > 1)
        {
            for (var i = from; i < to; i += row.PublishBatch)
            {
                ct.ThrowIfCancellationRequested();
                var batch = new BenchTask[Math.Min(row.PublishBatch, to - i)];
                for (var j = 0; j < batch.Length; j++)
                    batch[j] = new BenchTask(i + j, Stopwatch.GetTimestamp());
                await row.PublishManyAsync(batch, ct).ConfigureAwait(false);
            }
            return;
        }
        for (var i = from; i < to; i++)
        {
            ct.ThrowIfCancellationRequested();
            await row.PublishAsync(new BenchTask(i, Stopwatch.GetTimestamp()), ct).ConfigureAwait(false);
        }
    }

    private static string ReadLoad()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    private static void Render(StringBuilder sb, Options options, DateTimeOffset started, string redisInfo, List<RowResult> results,
        List<RedisBenchmarkResult> benchmarks, List<string> notes, List<string> redisFailures)
    {
        var raw = results.FirstOrDefault(r => r.Name.StartsWith("(a)", StringComparison.Ordinal));
        sb.AppendLine(Inv, $"## AppRuntime side by side — {started:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(Inv, $"No-op handler, 4 workers, {(options.Publishers == 1 ? "one publishing loop" : $"{options.Publishers} publishing loops")} awaiting each publish. {options.Tasks:N0} tasks per in-memory row, {options.RedisTasks:N0} per Redis row. "
            + $".NET {Environment.Version}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical CPUs, "
            + $"GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}{(System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Batch ? " (non-concurrent)" : ", concurrent")}. {redisInfo}.");
        sb.AppendLine();
        sb.AppendLine("| row | status | tasks/s | × (a) | p50 µs | p99 µs | alloc B/task | CPU µs/task | lock contentions /1k tasks | thread-pool items /task | GC 0/1/2 | load 1/5/15 |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        void RowLine(RowResult r)
        {
            var status = r.Completed ? $"{r.Handled:N0} done" : $"**not finished**: {r.Handled:N0}/{r.Tasks:N0} ({r.Failure})";
            var ratio = raw is { Completed: true } ? F(r.TasksPerSecond / raw.TasksPerSecond, "0.00") : "—";
            sb.AppendLine(Inv, $"| {r.Name} | {status} | {F(r.TasksPerSecond, "N0")} | {ratio} | {F(r.P50Us, "N0")} | {F(r.P99Us, "N0")} | {F(r.AllocatedBytesPerTask, "N0")} | {F(r.CpuUsPerTask, "N2")} | {F(r.ContentionsPer1k, "N1")} | {F(r.WorkItemsPerTask, "N2")} | {r.Gen0}/{r.Gen1}/{r.Gen2} | {r.Notes} |");
        }
        foreach (var r in results.Where(r => r.Group == "in-memory"))
            RowLine(r);
        foreach (var b in benchmarks)
            sb.AppendLine(Inv, $"| (e) redis-benchmark {b.Test} -c {b.Clients} (requests, not tasks) | {options.RedisTasks:N0} done | {F(b.RequestsPerSecond, "N0")} | — | {F(b.P50Ms * 1000, "N0")} | {F(b.P99Ms * 1000, "N0")} | — | — | — | — | — | |");
        foreach (var r in results.Where(r => r.Group != "in-memory"))
            RowLine(r);
        sb.AppendLine();

        RowResult? Find(string prefix) => results.FirstOrDefault(r => r.Name.StartsWith(prefix, StringComparison.Ordinal));
        var on = Find("(b) AppRuntime in-memory, tracing on");
        var off = Find("(b) AppRuntime in-memory, tracing off");
        var mt = Find("(c)");
        var wolverine = Find("(d) Wolverine 6.62.0 local queue, tracing off");
        var wolverineOn = Find("(d) Wolverine 6.62.0 local queue, tracing on");
        var redis = Find("(e) AppRuntime on Redis, tracing off");
        var redisBatched = Find("(e) AppRuntime on Redis, PublishManyAsync");
        var hangfire = Find("(f)");
        var setC1 = benchmarks.FirstOrDefault(b => b.Test == "SET" && b.Clients == 1);
        var lpushC1 = benchmarks.FirstOrDefault(b => b.Test == "LPUSH" && b.Clients == 1);
        var setC50 = benchmarks.FirstOrDefault(b => b.Test == "SET" && b.Clients == 50);

        sb.AppendLine("| comparison (throughput ratio) | value | target | met? |");
        sb.AppendLine("|---|---:|---:|---|");
        Compare(sb, "AppRuntime in-memory tracing on / raw channels (a)", on, raw?.TasksPerSecond, raw, 0.5);
        Compare(sb, "AppRuntime in-memory tracing off / raw channels (a)", off, raw?.TasksPerSecond, raw, null);
        Compare(sb, "AppRuntime in-memory tracing on / MassTransit (c)", on, mt?.TasksPerSecond, mt, 5);
        Compare(sb, "AppRuntime in-memory tracing on / Wolverine (d) tracing on", on, wolverineOn?.TasksPerSecond, wolverineOn, 2);
        Compare(sb, "AppRuntime in-memory tracing off / MassTransit (c)", off, mt?.TasksPerSecond, mt, null);
        Compare(sb, "AppRuntime in-memory tracing off / Wolverine (d) tracing off", off, wolverine?.TasksPerSecond, wolverine, 2);
        Compare(sb, "AppRuntime on Redis / redis-benchmark SET -c 1", redis, setC1?.RequestsPerSecond, setC1 is null ? null : redis, 0.3);
        Compare(sb, "AppRuntime on Redis / redis-benchmark LPUSH -c 1", redis, lpushC1?.RequestsPerSecond, lpushC1 is null ? null : redis, null);
        Compare(sb, "AppRuntime on Redis / redis-benchmark SET -c 50", redis, setC50?.RequestsPerSecond, setC50 is null ? null : redis, null);
        Compare(sb, "AppRuntime on Redis, PublishManyAsync / redis-benchmark SET -c 50", redisBatched, setC50?.RequestsPerSecond, setC50 is null ? null : redisBatched, 0.3);
        Compare(sb, "AppRuntime on Redis / Hangfire (f)", redis, hangfire?.TasksPerSecond, hangfire, 2);
        sb.AppendLine();
        sb.AppendLine("A ratio marked *partial* uses a row that did not finish: its rate is tasks handled before the deadline / time until the deadline.");
        sb.AppendLine("Allocated bytes are GC.GetTotalAllocatedBytes(true) over the measured part / tasks handled: the whole process (publisher, workers, framework timers), not only the task path. CPU µs/task is the process's CPU time over the same span / tasks handled; it is less disturbed by other load on the machine than tasks/s. Lock contentions (Monitor.LockContentionCount) and thread-pool work items (ThreadPool.CompletedWorkItemCount, a proxy for wake-ups: every async continuation that had to be queued) are process-wide deltas over the same span.");
        sb.AppendLine();
        sb.AppendLine("Row details:");
        sb.AppendLine();
        foreach (var n in notes)
            sb.AppendLine("- " + n);
        foreach (var f in redisFailures)
            sb.AppendLine("- " + f);
    }

    private static void Compare(StringBuilder sb, string label, RowResult? ours, double? theirs, RowResult? theirRow, double? target)
    {
        if (ours is null || theirs is null || theirRow is null || theirs <= 0 || ours.Handled == 0)
        {
            sb.AppendLine(Inv, $"| {label} | n/a | {(target is null ? "—" : "≥ " + target.Value.ToString("0.##", Inv))} | n/a (row missing or failed) |");
            return;
        }
        var value = ours.TasksPerSecond / theirs.Value;
        var partial = !ours.Completed || !theirRow.Completed;
        var met = target is null ? "—" : value >= target ? "yes" : "**no**";
        sb.AppendLine(Inv, $"| {label} | {value:0.00}{(partial ? " (partial)" : "")} | {(target is null ? "—" : "≥ " + target.Value.ToString("0.##", Inv))} | {met} |");
    }

    private static string F(double v, string format) => double.IsNaN(v) || double.IsInfinity(v) ? "—" : v.ToString(format, Inv);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AppRuntime.sln")))
                return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }

    private sealed record Options(int Tasks, int RedisTasks, string Redis, TimeSpan RowTimeout, int Capacity, string Rows, string Tracing, int Publishers, string? Out, int PublishBatch, int Prefetch, int AllocTypes)
    {
        public bool Has(char row) => Rows.Contains(row, StringComparison.Ordinal);

        public static Options Parse(string[] args)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal))
                    continue;
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new ArgumentException($"Option {args[i]} needs a value.");
                map[args[i][2..]] = args[++i];
            }
            int Int(string key, int fallback) => map.TryGetValue(key, out var v) ? int.Parse(v.Replace("_", "", StringComparison.Ordinal), Inv) : fallback;
            var redis = map.GetValueOrDefault("redis") ?? (Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6390");
            var unknown = map.Keys.Except(["tasks", "redis-tasks", "redis", "row-timeout", "capacity", "rows", "tracing", "publishers", "out", "publish-batch", "prefetch", "alloc-types"]).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException("Unknown option(s): " + string.Join(", ", unknown.Select(u => "--" + u)));
            return new Options(Int("tasks", 1_000_000), Int("redis-tasks", 100_000), redis, TimeSpan.FromSeconds(Int("row-timeout", 300)),
                Int("capacity", 10_000), map.GetValueOrDefault("rows") ?? "abcdef", map.GetValueOrDefault("tracing") ?? "both",
                Math.Max(1, Int("publishers", 1)), map.GetValueOrDefault("out"), Math.Max(1, Int("publish-batch", 100)), Math.Max(0, Int("prefetch", 0)), Math.Max(0, Int("alloc-types", 0)));
        }
    }
}
