using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

[Trait("Category", "Integration")]
public sealed class KillIntegrationTests(ITestOutputHelper output) : RedisQueueFixture
{
    private const int Total = 10_000;
    private const int Concurrency = 8;

    [Fact]
    public Task A_consumer_killed_with_sigkill_mid_run_loses_no_task_and_only_its_in_flight_leases_run_twice() => KillMidRunAsync(prefetch: 0);

    [Fact]
    public Task A_consumer_killed_with_a_full_prefetch_buffer_loses_no_task_its_buffered_leases_expire_and_are_reclaimed() => KillMidRunAsync(prefetch: 16);

    /// <summary>
    /// The process publishes the tasks itself, in batches it can take at once: each batch is leased to its own consumers and
    /// buffer by the publish script (no consume), so what it holds when killed came from its publishes.
    /// </summary>
    [Fact]
    public Task A_process_killed_holding_tasks_its_own_batch_publishes_leased_to_it_loses_none_and_they_are_reclaimed() =>
        KillMidRunAsync(prefetch: 16, publishInProcess: true);

    private async Task KillMidRunAsync(int prefetch, bool publishInProcess = false)
    {
        var definition = new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(10), Capacity = 20_000 };
        var queue = NewQueue(definition, TimeProvider.System);
        if (!publishInProcess)
            await ProcessTestSupport.PublishRangeAsync(queue, 0, Total);
        var handledKey = WorkItems.HandledKey(Prefix);

        // Publishing in the process: 16 tasks every 40 ms, handled in 10 ms each by 8 loops, so the process holds some of a batch
        // most of the time; it is killed at a moment when it holds more leases than it has loops (some wait in its buffer).
        using var first = ConsumerProcess.Start(Prefix, "work", "first", Concurrency, delayMs: publishInProcess ? 10 : 2, visibilityMs: 10_000, prefetch,
            publish: publishInProcess ? Total : 0);

        await Eventually.TrueAsync(async () => await Db.HashLengthAsync(handledKey) >= 2_000
                && (!publishInProcess || await Db.SortedSetLengthAsync($"{Prefix}:{{work}}:leases") > Concurrency),
            "the first consumer handles 2,000 tasks" + Environment.NewLine + first.Output, TimeSpan.FromSeconds(120));
        Assert.False(first.HasExited, "the first consumer is still running when it is killed" + Environment.NewLine + first.Output);
        first.KillHard();

        // Exactly what the dead process held (tasks in its workers' hands and, with a prefetch, in its local buffer): it can
        // change nothing any more, and nobody else consumes yet.
        var inFlightAtKill = (await Db.SortedSetRangeByRankAsync($"{Prefix}:{{work}}:leases")).Select(v => (string)v!).ToHashSet(StringComparer.Ordinal);
        var handledAtKill = await Db.HashLengthAsync(handledKey);
        var readyAtKill = await Db.ListLengthAsync($"{Prefix}:{{work}}:ready");
        output.WriteLine($"killed after {handledAtKill} handled; {inFlightAtKill.Count} leases in flight, {readyAtKill} ready");
        Assert.InRange(handledAtKill, 2_000, Total - 1);
        if (publishInProcess)
        {
            // The process published in order until it died (each batch whole, in one script): the test publishes the rest, as
            // the dead process's replacement would.
            var published = (long)await Db.HashGetAsync($"{Prefix}:{{work}}:stats", "published");
            output.WriteLine($"published by the killed process: {published}");
            Assert.InRange(published, handledAtKill, Total);
            await ProcessTestSupport.PublishRangeAsync(queue, (int)published, Total);
        }
        Assert.InRange(inFlightAtKill.Count, 0, Concurrency + prefetch);

        using var finisher = ConsumerProcess.Start(Prefix, "work", "finisher", Concurrency, delayMs: 0, visibilityMs: 10_000);
        await Eventually.TrueAsync(async () => await Db.HashLengthAsync(handledKey) == Total && (await queue.GetStatsAsync()).Outstanding == 0,
            "the second process finishes the queue" + Environment.NewLine + finisher.Output, TimeSpan.FromSeconds(180));
        await finisher.StopAsync();

        var counts = await ProcessTestSupport.ReadCountsAsync(Db, handledKey);
        var missing = Enumerable.Range(0, Total).Select(n => $"task-{n}").Where(id => !counts.ContainsKey(id)).ToList();
        Assert.Empty(missing);
        var duplicates = counts.Where(c => c.Value > 1).Select(c => c.Key).ToList();
        output.WriteLine($"duplicates: {duplicates.Count} ({string.Join(", ", duplicates)})");
        Assert.All(duplicates, id => Assert.Contains(id, inFlightAtKill));
        Assert.All(counts.Values, c => Assert.InRange(c, 1, 2));
        Assert.True(duplicates.Count <= inFlightAtKill.Count);
        var stats = await queue.GetStatsAsync();
        Assert.Equal(Total, stats.Acked);
        Assert.Equal(0, stats.DeadLettered);
    }
}
