using System.Collections.Concurrent;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

[Trait("Category", "Integration")]
public sealed class RestartIntegrationTests(ITestOutputHelper output) : RedisQueueFixture
{
    [Fact]
    public async Task After_a_redis_crash_and_restart_with_aof_no_acknowledged_publish_is_lost_and_consumers_resume()
    {
        var aof = await Db.ExecuteAsync("CONFIG", "GET", "appendonly");
        Assert.True(((string[])aof!)[1] == "yes", "the server must run with AOF (appendonly yes): " + RedisTestServer.StartHint);
        var runIdBefore = await RunIdAsync();

        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(3), Capacity = 100_000 }, TimeProvider.System);
        using var consumer = ConsumerProcess.Start(Prefix, "work", "consumer", 4, delayMs: 2, visibilityMs: 3000);
        var handledKey = WorkItems.HandledKey(Prefix);
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
        await RedisTestServer.RunScriptAsync("restart", "--hard");
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
        var info = await Connection.GetServer(Connection.GetEndPoints()[0]).InfoAsync("server");
        return info.SelectMany(g => g).Single(kv => kv.Key == "run_id").Value;
    }
}
