// Redis queue throughput, next to redis-benchmark against the same server in the same run.
//   bash tests/infra/redis.sh start
//   dotnet run -c Release --project tests/AppRuntime.Redis.Benchmark -- [--redis 127.0.0.1:6390] [--tasks 20000] [--consumers 1,4,16]
//       [--benchmark-requests 100000]   (redis-benchmark -n; lower it with appendfsync always, where one client does < 1k writes/s)
//   ... -- --mode flow [--tasks 30000] [--consumers 4] [--prefetch 0] [--runs 3] [--socket-manager threadpool|shared]
//       One publishing loop awaiting each publish while C loops consume + ack, as the side-by-side row (e) does but
//       without the runtime around the queue: tasks/s, process CPU, lock contentions and thread-pool items per task,
//       and Lua script calls per task (INFO commandstats).
// For each consumer count: publish N tasks through ITaskQueue.PublishAsync (64 in flight), then C loops of
// ConsumeAsync + AckAsync in this process (one shared connection, as in a runtime worker pool) until all N are acked.
using System.Diagnostics;
using System.Globalization;
using AppRuntime;
using AppRuntime.Redis.TestConsumer;
using StackExchange.Redis;

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
    options[args[i].TrimStart('-')] = args[i + 1];
var endpoint = options.GetValueOrDefault("redis", Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6390");
var tasks = int.Parse(options.GetValueOrDefault("tasks", "20000"), CultureInfo.InvariantCulture);
var benchmarkRequests = options.GetValueOrDefault("benchmark-requests", "100000");
var consumerCounts = options.GetValueOrDefault("consumers", "1,4,16").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();

var config = ConfigurationOptions.Parse(endpoint);
config.AllowAdmin = true;
if (options.GetValueOrDefault("socket-manager") == "threadpool")
    config.SocketManager = SocketManager.ThreadPool;
await using var connection = await ConnectionMultiplexer.ConnectAsync(config);
if (options.GetValueOrDefault("mode") == "flow")
{
    var prefetch = int.Parse(options.GetValueOrDefault("prefetch", "0"), CultureInfo.InvariantCulture);
    var runs = int.Parse(options.GetValueOrDefault("runs", "3"), CultureInfo.InvariantCulture);
    await FlowAsync(connection, Math.Min(tasks, 2000), consumerCounts[0], prefetch);
    Console.WriteLine("| consumers | prefetch | tasks | tasks/s | CPU µs/task | contentions/1k | tp items/task | scripts/task |");
    Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (var run = 0; run < runs; run++)
    {
        var r = await FlowAsync(connection, tasks, consumerCounts[0], prefetch);
        Console.WriteLine($"| {consumerCounts[0]} | {prefetch} | {tasks} | {r.Rate:0} | {r.CpuUs:0.0} | {r.Contentions:0} | {r.Items:0.00} | {r.Calls:0.00} |");
    }
    return 0;
}
var server = connection.GetServer(connection.GetEndPoints()[0]);
var info = (await server.InfoAsync("server")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
var persistence = await connection.GetDatabase().ExecuteAsync("CONFIG", "GET", "append*");
Console.WriteLine($"redis {info["redis_version"]} at {endpoint}; {string.Join(' ', (string[])persistence!)}");
Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {tasks} tasks per run");
Console.WriteLine();

// Warm-up: JIT, script cache, connection.
await RunAsync(connection, Math.Min(tasks, 2000), 4);

var rows = new List<string>();
foreach (var consumers in consumerCounts)
{
    var (publishRate, consumeRate) = await RunAsync(connection, tasks, consumers);
    rows.Add($"| {consumers} | {tasks} | {publishRate:0} | {consumeRate:0} |");
}

Console.WriteLine("| consumers | tasks | publish tasks/s (64 in flight) | consume+ack tasks/s |");
Console.WriteLine("|---:|---:|---:|---:|");
foreach (var row in rows)
    Console.WriteLine(row);
Console.WriteLine();

var host = endpoint.Split(':')[0];
var port = endpoint.Split(':')[1];
foreach (var clients in new[] { 50, 1 })
{
    var start = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "-h", host, "-p", port, "-q", "-n", benchmarkRequests, "-t", "set,lpush", "-c", clients.ToString(CultureInfo.InvariantCulture) })
        start.ArgumentList.Add(a);
    try
    {
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Console.WriteLine($"redis-benchmark -q -n {benchmarkRequests} -t set,lpush -c {clients}:");
        // -q prints progress with carriage returns; keep the final line of each test.
        foreach (var line in output.Split('\n').Select(l => l.Split('\r')[^1].Trim()).Where(l => l.Length > 0))
            Console.WriteLine("  " + line);
    }
    catch (System.ComponentModel.Win32Exception ex)
    {
        Console.WriteLine($"redis-benchmark not found ({ex.Message}); install the Debian package redis-tools.");
    }
}
// redis-benchmark's own keys.
await connection.GetDatabase().KeyDeleteAsync(["key:__rand_int__", "mylist"]);
return 0;

static async Task<(double Rate, double CpuUs, double Contentions, double Items, double Calls)> FlowAsync(IConnectionMultiplexer connection, int tasks, int consumers, int prefetch)
{
    var prefix = "flow" + Guid.NewGuid().ToString("N")[..8];
    var backend = new RedisQueueBackend(connection, new RedisQueueOptions { KeyPrefix = prefix, Prefetch = prefetch });
    // consumers 0: the publishing loop alone (its ceiling).
    var queue = backend.Create(new QueueDefinition("bench", WorkItems.TaskType) { Capacity = consumers == 0 ? tasks + 1 : 10_000 }, WorkItems.Serializer);
    var server = connection.GetServer(connection.GetEndPoints()[0]);
    try
    {
        using var counter = new ConsumeCounter(tasks);
        var calls0 = await CallsAsync(server);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var contentions0 = Monitor.LockContentionCount;
        var items0 = ThreadPool.CompletedWorkItemCount;
        var clock = Stopwatch.StartNew();
        var loops = ConsumeCounter.StartLoops(queue, consumers, counter);
        var now = DateTimeOffset.UtcNow;
        for (var n = 0; n < tasks; n++)
            await queue.PublishAsync(new TaskEnvelope<WorkItem>($"task-{n}", WorkItems.TaskType, new WorkItem(n, "benchmark payload"), now));
        if (consumers > 0)
            await Task.WhenAll(loops);
        clock.Stop();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        var contentions = Monitor.LockContentionCount - contentions0;
        var items = ThreadPool.CompletedWorkItemCount - items0;
        var calls = await CallsAsync(server) - calls0;
        return (tasks / clock.Elapsed.TotalSeconds, cpu.TotalMicroseconds / tasks, contentions * 1000.0 / tasks, (double)items / tasks, (double)calls / tasks);
    }
    finally
    {
        await ((IAsyncDisposable)queue).DisposeAsync();
        var db = connection.GetDatabase();
        await foreach (var key in server.KeysAsync(pattern: prefix + ":*", pageSize: 1000))
            await db.KeyDeleteAsync(key);
    }

    // Script calls (EVAL + EVALSHA) the server executed, from every client: run it on a server nobody else uses.
    static async Task<long> CallsAsync(IServer server)
    {
        var stats = await server.InfoAsync("commandstats");
        return stats.SelectMany(g => g).Where(kv => kv.Key is "cmdstat_evalsha" or "cmdstat_eval")
            .Sum(kv => long.Parse(kv.Value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture));
    }
}

static async Task<(double PublishRate, double ConsumeRate)> RunAsync(IConnectionMultiplexer connection, int tasks, int consumers)
{
    var prefix = "bench" + Guid.NewGuid().ToString("N")[..8];
    var backend = new RedisQueueBackend(connection, new RedisQueueOptions { KeyPrefix = prefix });
    var queue = backend.Create(new QueueDefinition("bench", WorkItems.TaskType) { Capacity = tasks + 1, VisibilityTimeout = TimeSpan.FromMinutes(5) }, WorkItems.Serializer);
    try
    {
        var now = DateTimeOffset.UtcNow;
        var publish = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(64))
        {
            var pending = new List<Task>(tasks);
            for (var n = 0; n < tasks; n++)
            {
                await gate.WaitAsync();
                var envelope = new TaskEnvelope<WorkItem>($"task-{n}", WorkItems.TaskType, new WorkItem(n, "benchmark payload"), now);
                pending.Add(PublishOneAsync(queue, envelope, gate));
            }
            await Task.WhenAll(pending);
        }
        publish.Stop();

        var consume = Stopwatch.StartNew();
        using var counter = new ConsumeCounter(tasks);
        var loops = ConsumeCounter.StartLoops(queue, consumers, counter);
        await Task.WhenAll(loops);
        consume.Stop();
        return (tasks / publish.Elapsed.TotalSeconds, tasks / consume.Elapsed.TotalSeconds);
    }
    finally
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var db = connection.GetDatabase();
        await foreach (var key in server.KeysAsync(pattern: prefix + ":*", pageSize: 1000))
            await db.KeyDeleteAsync(key);
    }

    static async Task PublishOneAsync(ITaskQueue<WorkItem> queue, TaskEnvelope<WorkItem> envelope, SemaphoreSlim gate)
    {
        try
        {
            await queue.PublishAsync(envelope);
        }
        finally
        {
            gate.Release();
        }
    }
}

/// <summary>Consume-and-ack loops that stop together once the expected number of tasks was acked.</summary>
internal sealed class ConsumeCounter(int tasks) : IDisposable
{
    private readonly CancellationTokenSource _done = new();
    private int _remaining = tasks;

    public static Task[] StartLoops(ITaskQueue<WorkItem> queue, int consumers, ConsumeCounter counter) =>
        Enumerable.Range(0, consumers).Select(_ => Task.Run(() => counter.RunAsync(queue))).ToArray();

    public void Dispose() => _done.Dispose();

    private async Task RunAsync(ITaskQueue<WorkItem> queue)
    {
        try
        {
            while (true)
            {
                var lease = await queue.ConsumeAsync(_done.Token);
                if (!await queue.AckAsync(lease))
                    throw new InvalidOperationException("lease lost during the benchmark");
                if (Interlocked.Decrement(ref _remaining) == 0)
                    await _done.CancelAsync();
            }
        }
        catch (OperationCanceledException) when (_done.IsCancellationRequested)
        {
        }
    }
}
