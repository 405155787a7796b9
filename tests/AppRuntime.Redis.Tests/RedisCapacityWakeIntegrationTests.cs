using AppRuntime.Internal;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Publishers parked at a full queue: a freed slot wakes as many of them as the queue has room, the longest waiting first, so
/// a saturated queue is not retried by every parked publisher for each slot. Judged by what Redis itself ran (MONITOR) and
/// what it holds (LRANGE), with a poll interval of a minute so that only the notifications can wake a publisher.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisCapacityWakeIntegrationTests : RedisQueueFixture
{
    /// <summary>A queue of capacity 2 holding task-1 and task-2; a poll interval of a minute, so only notifications wake a publisher.</summary>
    private async Task<RedisTaskQueue<WorkItem>> FullQueueOfTwoAsync()
    {
        var queue = (RedisTaskQueue<WorkItem>)new RedisQueueBackend(Connection, new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromMinutes(1) }, Time)
            .Create(new QueueDefinition("work", WorkItems.TaskType) { Capacity = 2, VisibilityTimeout = TimeSpan.FromMinutes(5) }, WorkItems.Serializer);
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));
        return queue;
    }

    [Fact]
    public async Task A_freed_slot_wakes_one_parked_publisher_the_longest_waiting_and_the_others_send_nothing()
    {
        var queue = await FullQueueOfTwoAsync();
        using var stop = new CancellationTokenSource();
        var blocked = new List<Task>();
        for (var n = 3; n <= 6; n++)
        {
            blocked.Add(queue.PublishAsync(Envelope(n), stop.Token).AsTask());
            var parked = n - 2;
            await Eventually.TrueAsync(() => queue.ParkedPublishers == parked, $"publisher of task-{n} parked at the full queue", TimeSpan.FromSeconds(10));
        }
        await using var monitor = await RedisMonitor.StartAsync(Prefix);
        try
        {
            Assert.True(await queue.AckAsync(await ConsumeWithin(queue)));   // task-1: one slot

            await blocked[0].WaitAsync(TimeSpan.FromSeconds(10));
            await monitor.SyncAsync();
            Assert.All(blocked.Skip(1), b => Assert.False(b.IsCompleted));
            Assert.Equal(3, queue.ParkedPublishers);
            Assert.DoesNotContain(monitor.Lines, l => l.Contains("task-4", StringComparison.Ordinal) || l.Contains("task-5", StringComparison.Ordinal) || l.Contains("task-6", StringComparison.Ordinal));
            Assert.Contains(monitor.Lines, l => l.Contains("task-3", StringComparison.Ordinal));

            Assert.True(await queue.AckAsync(await ConsumeWithin(queue)));   // task-2: one slot, for task-4 (parked before 5 and 6)
            await blocked[1].WaitAsync(TimeSpan.FromSeconds(10));
            await monitor.SyncAsync();
            Assert.DoesNotContain(monitor.Lines, l => l.Contains("task-5", StringComparison.Ordinal) || l.Contains("task-6", StringComparison.Ordinal));
            Assert.Equal([$"task-4", "task-3"], await RedisCli.LinesAsync("LRANGE", $"{Prefix}:{{work}}:ready", "0", "-1"));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(blocked.Select(b => b.ContinueWith(static _ => { }, TaskScheduler.Default)));
        }
    }

    /// <summary>
    /// The announcements themselves, read with the test's own <c>redis-cli SUBSCRIBE</c> on the queue's channel: a publish refused
    /// because the queue is full marks it (<c>&lt;root&gt;:full</c>, with a life), and while the mark lives every free announces
    /// the room, not only the first one after the queue was full (two acks in a row, with no publish between them, wake two).
    /// </summary>
    [Fact]
    public async Task After_a_refused_publish_every_free_announces_the_room_and_the_mark_expires()
    {
        var queue = await FullQueueOfTwoAsync();
        var first = await ConsumeWithin(queue);
        var second = await ConsumeWithin(queue);
        var fullKey = (string)queue.Keys.Full!;
        Assert.Equal("0", (await RedisCli.RunAsync("EXISTS", fullKey)).Trim());

        using (var refused = new CancellationTokenSource())
        {
            var publish = queue.PublishAsync(Envelope(3), refused.Token).AsTask();
            await Eventually.TrueAsync(() => queue.ParkedPublishers == 1, "the publish found the queue full and parked", TimeSpan.FromSeconds(10));
            await refused.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => publish);
        }
        var life = long.Parse(await RedisCli.RunAsync("PTTL", fullKey), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(life, 100_000, 121_000);   // two poll intervals (2 min) plus 1 s

        await using var channel = await RedisMonitor.SubscribeAsync($"{Prefix}:{{work}}:events");
        Assert.True(await queue.AckAsync(first));    // the queue was full: one slot
        await Eventually.TrueAsync(() => channel.Lines.Contains("f1"), "'f1' announced", TimeSpan.FromSeconds(10));
        Assert.True(await queue.AckAsync(second));   // not full any more, but publishers may still be parked: announced too
        await Eventually.TrueAsync(() => channel.Lines.Contains("f2"), "'f2' announced", TimeSpan.FromSeconds(10));

        await RedisCli.RunAsync("PEXPIRE", fullKey, "1");
        await Eventually.TrueAsync(async () => (await RedisCli.RunAsync("EXISTS", fullKey)).Trim() == "0", "the mark expired", TimeSpan.FromSeconds(10));
        await queue.PublishAsync(Envelope(4));
        Assert.True(await queue.AckAsync(await ConsumeWithin(queue)));   // room, no mark: nothing to announce
        await queue.PublishAsync(Envelope(5));   // a marker of our own on the channel: everything before it has arrived
        await RedisCli.RunAsync("PUBLISH", $"{Prefix}:{{work}}:events", "sync");
        await Eventually.TrueAsync(() => channel.Lines.Contains("sync"), "the test's own message arrived", TimeSpan.FromSeconds(10));
        Assert.Equal(["f1", "f2"], channel.Lines.Where(l => l.StartsWith('f')).ToArray());
    }
}

/// <summary>The parked-publisher signal on its own: counted wakes, in order, and waiters that leave.</summary>
public sealed class WakeSignalTests
{
    [Fact]
    public async Task A_wake_wakes_that_many_waiters_the_longest_waiting_first_and_a_cancelled_one_leaves_the_line()
    {
        var signal = new WakeSignal();
        using var first = new CancellationTokenSource();
        var a = signal.WaitAsync(TimeSpan.FromMinutes(1), first.Token);
        var b = signal.WaitAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
        var c = signal.WaitAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(3, signal.Waiting);

        await first.CancelAsync();   // a leaves before any wake: nothing to pass on
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        Assert.Equal(2, signal.Waiting);

        signal.Wake(1);
        Assert.True(await b.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(c.IsCompleted);

        signal.Wake(5);
        Assert.True(await c.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, signal.Waiting);
    }

    [Fact]
    public async Task A_wake_skips_a_waiter_that_was_cancelled_but_has_not_left_yet()
    {
        var signal = new WakeSignal();
        using var leaving = new CancellationTokenSource();
        // The token fires just before the wake: the first waiter is still listed (it leaves on its own continuation), and must
        // not use up the wake.
        var a = signal.WaitAsync(TimeSpan.FromMinutes(1), leaving.Token);
        var b = signal.WaitAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
        await leaving.CancelAsync();
        signal.Wake(1);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);
        Assert.True(await b.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_waiter_that_times_out_reports_it_was_not_woken()
    {
        var signal = new WakeSignal();
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(50), CancellationToken.None));
        Assert.Equal(0, signal.Waiting);
    }
}
