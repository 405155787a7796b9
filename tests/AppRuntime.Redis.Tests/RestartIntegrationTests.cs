using System.Collections.Concurrent;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Crashes (SIGKILL) and restarts a Redis server of its own (tests/infra/redis.sh on another port, AOF with fsync always): the shared
/// server that the other test assemblies use at the same time is never disturbed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RestartIntegrationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Endpoint = "127.0.0.1:6396";
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer? _connection;

    private IDatabase Db => _connection!.GetDatabase();

    public async Task InitializeAsync()
    {
        await RedisTestServer.RunScriptAsync(Endpoint, "start");
        _connection = await RedisTestServer.ConnectAsync(Endpoint);
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
            await _connection.DisposeAsync();
        await RedisTestServer.RunScriptAsync(Endpoint, "stop");
    }

    [Fact]
    public async Task After_a_redis_crash_and_restart_with_aof_no_acknowledged_publish_is_lost_and_consumers_resume()
    {
        var aof = await Db.ExecuteAsync("CONFIG", "GET", "appendonly");
        Assert.True(((string[])aof!)[1] == "yes", "the server must run with AOF (appendonly yes): " + RedisTestServer.StartHint);
        var runIdBefore = await RunIdAsync();

        var queue = new RedisQueueBackend(_connection!, new RedisQueueOptions { KeyPrefix = _prefix, PollInterval = TimeSpan.FromMilliseconds(20) }, TimeProvider.System)
            .Create(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(3), Capacity = 100_000 }, WorkItems.Serializer);
        using var consumer = ConsumerProcess.Start(_prefix, "work", "consumer", 4, delayMs: 2, visibilityMs: 3000, endpoint: Endpoint);
        var handledKey = WorkItems.HandledKey(_prefix);
        var acknowledged = new ConcurrentBag<string>();
        var failedAttempts = 0;

        async Task PublishAsync(int from, int to)
        {
            for (var n = from; n < to; n++)
            {
                // A publish that throws (the queue names a Redis outage QueueBackendUnavailableException) was not acknowledged; the
                // producer retries it (same id) until Redis confirms.
                while (true)
                {
                    try
                    {
                        await queue.PublishAsync(ProcessTestSupport.Task(n));
                        acknowledged.Add($"task-{n}");
                        break;
                    }
                    catch (Exception ex) when (ex is RedisException or QueueBackendUnavailableException)
                    {
                        Interlocked.Increment(ref failedAttempts);
                        await System.Threading.Tasks.Task.Delay(20);
                    }
                }
            }
        }

        await PublishAsync(0, 1_000);
        await Eventually.TrueAsync(async () => await Db.HashLengthAsync(handledKey) >= 300,
            "the consumer process is handling tasks" + Environment.NewLine + consumer.Output, TimeSpan.FromSeconds(60));

        // Keep publishing while Redis is killed (SIGKILL) and started again on the same AOF.
        var during = PublishAsync(1_000, 3_000);
        await RedisTestServer.RunScriptAsync(Endpoint, "restart", "--hard");
        await during;
        await PublishAsync(3_000, 3_500);

        Assert.NotEqual(runIdBefore, await RunIdAsync());
        var wanted = acknowledged.ToHashSet(StringComparer.Ordinal);
        Assert.Equal(3_500, wanted.Count);
        await Eventually.TrueAsync(async () =>
            {
                var handled = await Db.HashKeysAsync(handledKey);
                return wanted.IsSubsetOf(handled.Select(h => (string)h!));
            },
            "every acknowledged publish is handled after the restart" + Environment.NewLine + consumer.Output, TimeSpan.FromSeconds(120));
        await consumer.StopAsync();

        var counts = await ProcessTestSupport.ReadCountsAsync(Db, handledKey);
        output.WriteLine($"handled {counts.Count}, handled twice {counts.Count(c => c.Value > 1)}, publish attempts that failed {failedAttempts}");
        Assert.Equal(3_500, counts.Count);
    }

    /// <summary>
    /// A process that publishes its own tasks in batches its consumers and buffer can take (prefetch 16): the publish script leases
    /// them to it straight away (no consume), so at the crash it holds leases it got from publishes, and batches may have run in
    /// Redis without their reply reaching it. Redis is SIGKILLed and started again on its AOF (fsync always) mid-run. Every task
    /// must still be handled: a lease whose ack or renewal failed expires (3 s) and is delivered again, and a batch published again
    /// after a lost reply finds its ids already in the queue. Judged by the process's own record of handled ids in Redis.
    /// </summary>
    [Fact]
    public async Task After_a_redis_crash_and_restart_tasks_a_process_leased_to_itself_by_its_own_batch_publishes_are_all_handled()
    {
        const int Total = 1_600;   // 100 batches of 16, one every 40 ms or more: about 5 s of publishing
        var handledKey = WorkItems.HandledKey(_prefix);
        using var process = ConsumerProcess.Start(_prefix, "work", "publisher", 4, delayMs: 5, visibilityMs: 3000, prefetch: 16, endpoint: Endpoint,
            publish: Total);
        await Eventually.TrueAsync(async () => await Db.HashLengthAsync(handledKey) >= 200,
            "the process is handling its own tasks" + Environment.NewLine + process.Output, TimeSpan.FromSeconds(60));
        var leased = await Db.SortedSetLengthAsync($"{_prefix}:{{work}}:leases");
        var handedOff = (long)await Db.HashGetAsync($"{_prefix}:{{work}}:stats", "published");
        output.WriteLine($"before the crash: {leased} leases held, {handedOff} published");

        await RedisTestServer.RunScriptAsync(Endpoint, "restart", "--hard");

        // Done when every task was handled and the queue holds nothing: no task ready, leased (an expired lease of a lost ack
        // is delivered again first) or delayed.
        await Eventually.TrueAsync(async () =>
                await Db.HashLengthAsync(handledKey) >= Total
                && await Db.ListLengthAsync($"{_prefix}:{{work}}:ready") == 0
                && await Db.SortedSetLengthAsync($"{_prefix}:{{work}}:leases") == 0
                && await Db.SortedSetLengthAsync($"{_prefix}:{{work}}:delayed") == 0,
            "every task the process published is handled after the restart, and the queue is empty" + Environment.NewLine + process.Output,
            TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(100));
        await process.StopAsync();

        // Nothing left behind either: every task record was deleted by its ack (a record that is in no list is a task lost to
        // every consumer).
        var server = _connection!.GetServer(_connection.GetEndPoints()[0]);
        var records = new List<string>();
        await foreach (var key in server.KeysAsync(pattern: $"{_prefix}:{{work}}:t:*"))
            records.Add((string)key!);
        Assert.True(records.Count == 0, $"{records.Count} task records left: {string.Join(", ", records.Take(10))}");
        var counts = await ProcessTestSupport.ReadCountsAsync(Db, handledKey);
        output.WriteLine($"handled {counts.Count}, handled twice {counts.Count(c => c.Value > 1)}, failed publishes logged {process.Output.Split('\n').Count(l => l.Contains("publish of task-", StringComparison.Ordinal))}");
        Assert.Equal(Enumerable.Range(0, Total).Select(n => $"task-{n}").Order(StringComparer.Ordinal), counts.Keys.Order(StringComparer.Ordinal));
    }

    private async Task<string> RunIdAsync()
    {
        var info = await _connection!.GetServer(_connection.GetEndPoints()[0]).InfoAsync("server");
        return info.SelectMany(g => g).Single(kv => kv.Key == "run_id").Value;
    }
}
