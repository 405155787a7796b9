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

    private async Task<string> RunIdAsync()
    {
        var info = await _connection!.GetServer(_connection.GetEndPoints()[0]).InfoAsync("server");
        return info.SelectMany(g => g).Single(kv => kv.Key == "run_id").Value;
    }
}
