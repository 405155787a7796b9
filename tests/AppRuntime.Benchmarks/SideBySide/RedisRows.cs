using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.Redis.StackExchange;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AppRuntime.Benchmarks.SideBySide;

/// <summary>Deletes every key under a prefix in one database, so runs leave nothing on the shared server.</summary>
public static class RedisCleanup
{
    public static async Task<long> DeletePrefixAsync(string endpoint, int db, string prefix)
    {
        var options = ConfigurationOptions.Parse(endpoint);
        options.AllowAdmin = true;
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        var server = mux.GetServer(mux.GetEndPoints()[0]);
        var database = mux.GetDatabase(db);
        long deleted = 0;
        var batch = new List<RedisKey>(1000);
        await foreach (var key in server.KeysAsync(db, prefix + "*", pageSize: 1000).ConfigureAwait(false))
        {
            batch.Add(key);
            if (batch.Count == 1000)
            {
                deleted += await database.KeyDeleteAsync([.. batch]).ConfigureAwait(false);
                batch.Clear();
            }
        }
        if (batch.Count > 0)
            deleted += await database.KeyDeleteAsync([.. batch]).ConfigureAwait(false);
        return deleted;
    }

    public static async Task<string> DescribeServerAsync(string endpoint)
    {
        var options = ConfigurationOptions.Parse(endpoint);
        options.AllowAdmin = true;
        options.ConnectTimeout = 3000;
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        var server = mux.GetServer(mux.GetEndPoints()[0]);
        var config = await server.ConfigGetAsync("append*").ConfigureAwait(false);
        return $"redis {server.Version} at {endpoint}; " + string.Join(", ", config.Select(kv => $"{kv.Key}={kv.Value}"));
    }
}

/// <summary>(e) AppRuntime on the Redis backend: same module as (b), the queue's backend set to Redis by configuration.</summary>
public sealed class AppRuntimeRedisRow(string endpoint, int capacity, int publishBatch, int prefetch) : HostedRow
{
    private readonly string _prefix = "appruntime-bench-" + Guid.NewGuid().ToString("N")[..8];
    private ITaskPublisher<BenchTask>? _publisher;

    public override string Name => publishBatch > 1
        ? $"(e) AppRuntime on Redis, PublishManyAsync x{publishBatch}, tracing off"
        : "(e) AppRuntime on Redis, tracing off";

    public override int PublishBatch => publishBatch;

    public override string Notes => $"AppRuntime:Queues:bench:Backend=Redis, key prefix {_prefix} (db 0, deleted after the row), capacity {capacity}, 4 workers, AppRuntime:Redis:Prefetch={prefetch}, "
        + (publishBatch > 1 ? $"ITaskPublisher<T>.PublishManyAsync of {publishBatch} tasks per call" : "ITaskPublisher<T>.PublishAsync per task")
        + ", JsonTaskSerializer<BenchTask> (source-generated context).";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AppRuntime:Queues:bench:Backend"] = "Redis",
            ["AppRuntime:Redis:Configuration"] = endpoint,
            ["AppRuntime:Redis:KeyPrefix"] = _prefix,
            ["AppRuntime:Redis:Prefetch"] = prefetch.ToString(CultureInfo.InvariantCulture),
        });
        builder.AddAppRuntime()
            .AddRedisQueues()
            .AddQueue(new QueueDefinition("bench", "bench-task") { Capacity = capacity }, new JsonTaskSerializer<BenchTask>(BenchJsonContext.Default.BenchTask))
            .AddWorkerPool(new WorkerPoolDefinition("bench") { Workers = 4 })
            .AddHandler<BenchTask>("bench", static _ => new NoopBenchHandler());
        var host = await StartHostAsync(builder, cancellationToken).ConfigureAwait(false);
        _publisher = host.Services.GetRequiredService<ITaskPublisher<BenchTask>>();
    }

    public override async ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken)
        => await _publisher!.PublishAsync(task, null, cancellationToken).ConfigureAwait(false);

    public override async ValueTask PublishManyAsync(BenchTask[] tasks, CancellationToken cancellationToken)
        => await _publisher!.PublishManyAsync(tasks, null, cancellationToken).ConfigureAwait(false);

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await RedisCleanup.DeletePrefixAsync(endpoint, 0, _prefix).ConfigureAwait(false);
        }
    }
}

/// <summary>The Hangfire no-op job.</summary>
public static class HangfireNoopJob
{
    public static void Run(long seq, long publishedAt) => LatencySink.Record(seq, publishedAt);
}

/// <summary>(f) Hangfire 1.8 with Hangfire.Redis.StackExchange on the same server: BackgroundJobServer with 4 workers.</summary>
public sealed class HangfireRow(string endpoint) : Row
{
    private const int Db = 1;
    private readonly string _prefix = "{appruntime-bench-hangfire-" + Guid.NewGuid().ToString("N")[..8] + "}:";
    private ConnectionMultiplexer? _mux;
    private BackgroundJobServer? _server;
    private BackgroundJobClient? _client;

    public override string Name => "(f) Hangfire 1.8.25 + Redis.StackExchange 1.12.0";

    public override string Notes => $"RedisStorage db {Db}, prefix {_prefix} (deleted after the row); BackgroundJobServer WorkerCount=4; BackgroundJobClient.Enqueue(() => HangfireNoopJob.Run(seq, ts)).";

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _mux = await ConnectionMultiplexer.ConnectAsync(endpoint).ConfigureAwait(false);
        var storage = new RedisStorage(_mux, new RedisStorageOptions { Prefix = _prefix, Db = Db });
        _server = new BackgroundJobServer(new BackgroundJobServerOptions
        {
            WorkerCount = 4,
            ServerName = "appruntime-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            ShutdownTimeout = TimeSpan.FromSeconds(5),
        }, storage);
        _client = new BackgroundJobClient(storage);
    }

    public override ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken)
    {
        var seq = task.Seq;
        var ts = task.PublishedAt;
        _client!.Enqueue(() => HangfireNoopJob.Run(seq, ts));
        return default;
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (_server is not null)
            {
                _server.SendStop();
                await Task.Run(_server.Dispose).WaitAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
            }
            if (_mux is not null)
                await _mux.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await RedisCleanup.DeletePrefixAsync(endpoint, Db, _prefix).ConfigureAwait(false);
        }
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One line of <c>redis-benchmark --csv</c>.</summary>
public sealed record RedisBenchmarkResult(string Test, int Clients, double RequestsPerSecond, double P50Ms, double P99Ms);

/// <summary>Runs redis-benchmark as a child process against the same server (db 2; its two keys are deleted afterwards).</summary>
public static class RedisBenchmarkRunner
{
    public static async Task<(List<RedisBenchmarkResult> Results, string? Failure)> RunAsync(string endpoint, int requests, int clients, TimeSpan deadline)
    {
        var host = endpoint.Split(':')[0];
        var port = endpoint.Split(':')[1];
        var start = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-h", host, "-p", port, "-n", requests.ToString(CultureInfo.InvariantCulture), "-c", clients.ToString(CultureInfo.InvariantCulture), "-t", "set,lpush", "--csv", "--dbnum", "2" })
            start.ArgumentList.Add(a);
        var results = new List<RedisBenchmarkResult>();
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (results, $"redis-benchmark could not start ({ex.Message}); install the Debian package redis-tools");
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(deadline);
            try
            {
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
                return (results, $"redis-benchmark did not finish within {deadline.TotalSeconds:0} s (killed)");
            }
            foreach (var line in (await output.ConfigureAwait(false)).Split('\n'))
            {
                var cells = line.Trim().Split(',').Select(c => c.Trim('"')).ToArray();
                if (cells.Length < 7 || cells[0] == "test")
                    continue;
                results.Add(new RedisBenchmarkResult(cells[0], clients, Parse(cells[1]), Parse(cells[4]), Parse(cells[6])));
            }
            if (results.Count == 0)
                return (results, "redis-benchmark printed no result: " + (await errors.ConfigureAwait(false)).Trim());
        }
        var options = ConfigurationOptions.Parse(endpoint);
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        await mux.GetDatabase(2).KeyDeleteAsync(["key:__rand_int__", "mylist"]).ConfigureAwait(false);
        return (results, null);
    }

    private static double Parse(string s) => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
}
