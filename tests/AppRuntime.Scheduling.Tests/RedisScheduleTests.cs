using AppRuntime.TestSupport;
using StackExchange.Redis;
using static AppRuntime.Scheduling.Tests.ScheduleHarness;

namespace AppRuntime.Scheduling.Tests;

/// <summary>The scheduled source on the Redis backend, on a fake clock: what it records in Redis survives a restart.</summary>
[Trait("Category", "Integration")]
public sealed class RedisScheduleTests
{
    private static Dictionary<string, string?> RedisSettings(string prefix) => new()
    {
        ["AppRuntime:Queues:ticks:Backend"] = "Redis",
        ["AppRuntime:Redis:Configuration"] = RedisTestServer.Endpoint,
        ["AppRuntime:Redis:KeyPrefix"] = prefix,
    };

    private static ScheduleHarness Harness(ScheduledSourceDefinition definition, DateTimeOffset start, string prefix) =>
        new(definition, start, RedisSettings(prefix), (_, builder) => builder.AddRedisQueues());

    [Fact]
    public async Task RunOnce_after_a_restart_publishes_one_catch_up_for_what_no_instance_fired()
    {
        using var redis = await RedisTestServer.ConnectAsync();
        var prefix = RedisTestServer.NewPrefix();
        var definition = new ScheduledSourceDefinition(Source, "ticks", "0 * * * *") { Missed = MissedPolicy.RunOnce };
        try
        {
            await using (var first = Harness(definition, At("2026-05-01T09:30:00Z"), prefix))
            {
                await first.StartAsync();
                await first.FireAsync("2026-05-01T10:00:00Z");
                await first.Runtime.StopAsync(CancellationToken.None);
            }
            // The last fired occurrence is in Redis, beside the queue.
            var recorded = await redis.GetDatabase().HashGetAsync(prefix + ":{ticks}:checkpoints", Source + "/schedule.lastFired");
            Assert.Equal("2026-05-01T10:00:00Z", (string?)recorded);

            // Nothing ran from 10:00 to 15:00:20: 11:00-14:00 are missed, 15:00 is 20 s late and still on time.
            await using var second = Harness(definition, At("2026-05-01T15:00:20Z"), prefix);
            await second.StartAsync();
            await Eventually.TrueAsync(() => second.HandledTasks.Count == 2, "the catch-up and 15:00 are handled");
            var catchUp = Assert.Single(second.HandledTasks, t => t.Task.IsCatchUp);
            Assert.Equal(Id("2026-05-01T14:00:00Z"), catchUp.TaskId);
            Assert.Equal([At("2026-05-01T11:00:00Z"), At("2026-05-01T12:00:00Z"), At("2026-05-01T13:00:00Z"), At("2026-05-01T14:00:00Z")], catchUp.Task.Missed);
            Assert.Contains(Id("2026-05-01T15:00:00Z"), second.HandledIds);
            await second.WaitForNextAsync("2026-05-01T16:00:00Z");
        }
        finally
        {
            await RedisTestServer.DeleteKeysAsync(redis, prefix);
        }
    }

    [Fact]
    public async Task Overlap_Skip_sees_a_task_another_instance_published_and_still_holds()
    {
        using var redis = await RedisTestServer.ConnectAsync();
        var prefix = RedisTestServer.NewPrefix();
        var definition = new ScheduledSourceDefinition(Source, "ticks", "* * * * *") { Overlap = OverlapPolicy.Skip };
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(At("2026-05-01T10:00:30Z"));
        try
        {
            // Two instances on one clock and one Redis queue; their workers hold every task (unsettled until the gate opens). The
            // instance that did not publish 10:01 knows about it only through Redis.
            await using var a = new ScheduleHarness(definition, time.GetUtcNow(), RedisSettings(prefix), (_, b) => b.AddRedisQueues(), time) { Gate = new SemaphoreSlim(0) };
            await using var b = new ScheduleHarness(definition, time.GetUtcNow(), RedisSettings(prefix), (_, b2) => b2.AddRedisQueues(), time) { Gate = new SemaphoreSlim(0) };
            await a.StartAsync();
            await b.StartAsync();
            await a.WaitForNextAsync("2026-05-01T10:01:00Z");
            await b.WaitForNextAsync("2026-05-01T10:01:00Z");
            time.SetUtcNow(At("2026-05-01T10:01:00Z"));
            await Eventually.TrueAsync(() => a.HandledTasks.Count + b.HandledTasks.Count == 1, "one task for 10:01");

            await a.WaitForNextAsync("2026-05-01T10:02:00Z");
            await b.WaitForNextAsync("2026-05-01T10:02:00Z");
            time.SetUtcNow(At("2026-05-01T10:02:00Z"));
            await Eventually.TrueAsync(() => a.Schedule.Skipped == 1 && b.Schedule.Skipped == 1, "both instances skip 10:02: the 10:01 task is unsettled");
            Assert.Equal(1, a.HandledTasks.Count + b.HandledTasks.Count);
        }
        finally
        {
            await RedisTestServer.DeleteKeysAsync(redis, prefix);
        }
    }
}
