using System.Globalization;
using AppRuntime.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace AppRuntime.Scheduling.Tests;

/// <summary>
/// Several processes of one app (tests/AppRuntime.Scheduling.TestApp, composed by the generator) share a Redis queue and fire the
/// same one-second schedule. Judged by what the handlers wrote to Redis through their own connection, and by this test's own
/// connection: never by the source's counters.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MultiProcessRedisTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_processes_one_second_schedule_twenty_occurrences_give_twenty_tasks_each_once_with_one_process_killed()
    {
        using var redis = await RedisTestServer.ConnectAsync();
        var db = redis.GetDatabase();
        var prefix = RedisTestServer.NewPrefix();
        var record = prefix + ":rec";

        // Exactly 20 occurrences: seconds s..s+19 of one minute of one day (UTC), far enough ahead for three processes to start.
        var first = DateTimeOffset.UtcNow.AddSeconds(15);
        first = new DateTimeOffset(first.Year, first.Month, first.Day, first.Hour, first.Minute, first.Second, TimeSpan.Zero);
        if (first.Second > 40)
            first = first.AddSeconds(60 - first.Second);
        var cron = string.Create(CultureInfo.InvariantCulture, $"{first.Second}-{first.Second + 19} {first.Minute} {first.Hour} {first.Day} {first.Month} *");
        var expected = Enumerable.Range(0, 20).Select(i => ScheduledTaskIds.For("ticker", first.AddSeconds(i))).ToHashSet(StringComparer.Ordinal);
        output.WriteLine($"cron '{cron}' (UTC): {first:o} to {first.AddSeconds(19):o}; prefix {prefix}");

        string[] settings =
        [
            "--AppRuntime:Queues:ticks:Backend=Redis",
            "--AppRuntime:Redis:Configuration=" + RedisTestServer.Endpoint,
            "--AppRuntime:Redis:KeyPrefix=" + prefix,
            "--AppRuntime:Sources:ticker:Cron=" + cron,
            "--TickerTest:Record=" + record,
            "--TickerTest:CreateJitterMs=400",
        ];
        var processes = Enumerable.Range(0, 3).Select(_ => TickerProcess.Start(RedisTestServer.Endpoint, settings)).ToList();
        try
        {
            async Task<long> HandledAsync() => await db.HashLengthAsync(record + ":handled");

            // Kill one process in the middle: once 8 of the 20 tasks were handled.
            await Eventually.TrueAsync(async () => await HandledAsync() >= 8, "8 occurrences handled", TimeSpan.FromSeconds(90));
            var victim = processes[0];
            victim.KillHard();
            var atKill = await HandledAsync();
            output.WriteLine($"killed process {victim.Id} (SIGKILL) after {atKill} occurrences were handled");

            await Eventually.TrueAsync(async () => await HandledAsync() >= 20, "20 occurrences handled", TimeSpan.FromSeconds(60));
            // Leases the killed process held expire after the visibility timeout (3 s) and are delivered again: wait until the queue is empty.
            var keys = new { Ready = (RedisKey)(prefix + ":{ticks}:ready"), Leases = (RedisKey)(prefix + ":{ticks}:leases"), Delayed = (RedisKey)(prefix + ":{ticks}:delayed") };
            await Eventually.TrueAsync(async () => await db.ListLengthAsync(keys.Ready) + await db.SortedSetLengthAsync(keys.Leases) + await db.SortedSetLengthAsync(keys.Delayed) == 0,
                "nothing left in the queue", TimeSpan.FromSeconds(30));
            // The last occurrence was 2 s or more ago; a late duplicate would have been published by now.
            await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > first.AddSeconds(19 + 3), "the schedule is over");

            var handled = (await db.HashGetAllAsync(record + ":handled")).ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
            var redelivered = await db.HashGetAllAsync(record + ":redelivered");
            var byPublisher = await db.HashGetAllAsync(record + ":by-publisher");
            output.WriteLine("tasks by publishing process: " + string.Join(", ", byPublisher.Select(e => $"{e.Name}={e.Value}")));
            output.WriteLine("redelivered after the kill (at-least-once, same task): " + string.Join(", ", redelivered.Select(e => $"{e.Name}={e.Value}")));

            Assert.Equal(expected.Order(StringComparer.Ordinal), handled.Keys.Order(StringComparer.Ordinal)); // exactly the 20 occurrences
            Assert.All(handled, e => Assert.Equal(1, e.Value)); // each one task (a second task of an occurrence would be a second first delivery)
            Assert.All(redelivered, e => Assert.Contains((string)e.Name!, expected));
            Assert.Equal(20, byPublisher.Sum(e => (long)e.Value));
        }
        finally
        {
            foreach (var p in processes)
                await p.StopAsync();
            foreach (var p in processes)
            {
                output.WriteLine($"--- process {p.Id}:");
                output.WriteLine(p.Output);
                p.Dispose();
            }
            await RedisTestServer.DeleteKeysAsync(redis, prefix);
        }
    }
}
