using AppRuntime.Internal;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;

namespace AppRuntime.Redis.Tests;

/// <summary>Batch consume: one script leases tasks for every waiting consumer and, with a prefetch, for a local buffer.</summary>
[Trait("Category", "Integration")]
public sealed class RedisPrefetchIntegrationTests : RedisQueueFixture
{
    private ITaskQueue<WorkItem> NewPrefetchingQueue(int prefetch, QueueDefinition? definition = null, TimeProvider? time = null) =>
        new RedisQueueBackend(Connection, new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromMilliseconds(20), Prefetch = prefetch }, time ?? Time)
            .Create(definition ?? new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);

    [Fact]
    public async Task A_buffer_down_to_half_the_prefetch_is_topped_up_ahead_in_the_background_and_the_order_is_kept()
    {
        var queue = NewPrefetchingQueue(prefetch: 8, new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromMinutes(5) });
        for (var i = 0; i < 30; i++)
            await queue.PublishAsync(Envelope(i));
        var leasesKey = $"{Prefix}:{{work}}:leases";

        var leases = new List<TaskLease<WorkItem>> { await ConsumeWithin(queue) };   // leases 1 + 8
        Assert.Equal("9", (await RedisCli.RunAsync("ZCARD", leasesKey)).Trim());
        for (var i = 1; i < 4; i++)
            leases.Add(await ConsumeWithin(queue));
        Assert.Equal("9", (await RedisCli.RunAsync("ZCARD", leasesKey)).Trim());   // 5 left in the buffer: no read-ahead yet

        leases.Add(await ConsumeWithin(queue));   // 4 left = half the prefetch: the buffer is topped up to 8 without a consumer waiting
        await Eventually.TrueAsync(async () => (await RedisCli.RunAsync("ZCARD", leasesKey)).Trim() == "13", "the read-ahead leased 4 more in Redis", TimeSpan.FromSeconds(10));

        while (leases.Count < 30)
            leases.Add(await ConsumeWithin(queue));
        Assert.Equal(Enumerable.Range(0, 30).Select(n => $"task-{n}"), leases.Select(l => l.Envelope.Id));
        Assert.All(leases, l => Assert.Equal(1, l.Envelope.Attempt));
    }

    [Theory]
    [InlineData(0, 4, 5)]   // AppRuntime:Queues:<name>:Prefetch 4 on a backend without a prefetch: one consume leases 1 + 4
    [InlineData(4, 0, 1)]   // the queue's 0 wins over the backend's 4: one consume leases its own task only
    [InlineData(4, null, 5)]   // no setting of its own: the backend's
    public async Task A_queues_own_prefetch_wins_over_the_backends(int backendPrefetch, int? queuePrefetch, int leased)
    {
        var queue = NewPrefetchingQueue(backendPrefetch, new QueueDefinition("work", WorkItems.TaskType) { Prefetch = queuePrefetch });
        for (var i = 0; i < 10; i++)
            await queue.PublishAsync(Envelope(i));

        var first = await ConsumeWithin(queue);

        Assert.Equal("task-0", first.Envelope.Id);
        Assert.Equal(leased.ToString(System.Globalization.CultureInfo.InvariantCulture), (await RedisCli.RunAsync("ZCARD", $"{Prefix}:{{work}}:leases")).Trim());
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task One_consume_leases_the_prefetch_and_later_consumes_are_served_from_the_buffer_in_order()
    {
        var queue = NewPrefetchingQueue(prefetch: 4);
        for (var i = 0; i < 10; i++)
            await queue.PublishAsync(Envelope(i));

        var first = await ConsumeWithin(queue);
        var stats = await queue.GetStatsAsync();
        Assert.Equal((5, 5), (stats.InFlight, stats.Depth));

        var leases = new List<TaskLease<WorkItem>> { first };
        for (var i = 1; i < 10; i++)
            leases.Add(await ConsumeWithin(queue));
        Assert.Equal(Enumerable.Range(0, 10).Select(n => $"task-{n}"), leases.Select(l => l.Envelope.Id));
        Assert.All(leases, l => Assert.Equal(1, l.Envelope.Attempt));
        Assert.Equal(10, leases.Select(l => l.Token).Distinct(StringComparer.Ordinal).Count());
        foreach (var lease in leases)
            Assert.True(await queue.AckAsync(lease));
        Assert.Equal(0, (await queue.GetStatsAsync()).Outstanding);
    }

    [Fact]
    public async Task Buffered_tasks_go_back_to_the_front_of_the_queue_uncounted_when_the_queue_is_disposed()
    {
        var queue = NewPrefetchingQueue(prefetch: 4);
        for (var i = 0; i < 10; i++)
            await queue.PublishAsync(Envelope(i));
        var held = await ConsumeWithin(queue);
        Assert.Equal(5, (await queue.GetStatsAsync()).InFlight);

        await ((IAsyncDisposable)queue).DisposeAsync();

        var other = NewQueue();
        var stats = await other.GetStatsAsync();
        Assert.Equal((1, 9), (stats.InFlight, stats.Depth));
        var rest = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 9; i++)
            rest.Add(await ConsumeWithin(other));
        Assert.Equal(Enumerable.Range(1, 9).Select(n => $"task-{n}"), rest.Select(l => l.Envelope.Id));
        Assert.All(rest, l => Assert.Equal(1, l.Envelope.Attempt));
        Assert.True(await queue.AckAsync(held));
    }

    [Fact]
    public async Task Buffered_tasks_that_wait_locally_for_a_third_of_the_visibility_timeout_are_given_back()
    {
        // Hold = a third of the visibility timeout: 2 s.
        var definition = new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(6) };
        var queue = NewPrefetchingQueue(prefetch: 4, definition, TimeProvider.System);
        for (var i = 0; i < 10; i++)
            await queue.PublishAsync(Envelope(i, TimeProvider.System));
        var held = await ConsumeWithin(queue);
        Assert.Equal(5, (await queue.GetStatsAsync()).InFlight);

        // Before the 6 s leases would expire (which would count an attempt), the buffer gives them back.
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()) is { InFlight: 1, Depth: 9 },
            "the four buffered tasks go back to the ready list", TimeSpan.FromSeconds(5));

        var other = NewQueue(definition, TimeProvider.System);
        var next = await ConsumeWithin(other);
        Assert.Equal(("task-1", 1), (next.Envelope.Id, next.Envelope.Attempt));
        Assert.True(await queue.AckAsync(held));
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task A_buffered_task_whose_lease_expired_and_was_reclaimed_is_not_handed_out_stale()
    {
        var vt = TimeSpan.FromSeconds(30);
        var definition = new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = vt };
        var queue = NewPrefetchingQueue(prefetch: 2, definition);
        for (var i = 0; i < 3; i++)
            await queue.PublishAsync(Envelope(i));
        var first = await ConsumeWithin(queue);
        Assert.Equal(3, (await queue.GetStatsAsync()).InFlight);

        // The fake clock passes the lease; another instance's stats reclaim all three leases.
        Time.Advance(vt + TimeSpan.FromSeconds(1));
        var other = NewQueue(definition);
        Assert.Equal((0, 3), ((await other.GetStatsAsync()).InFlight, (await other.GetStatsAsync()).Depth));

        // The buffered leases are dead: the queue drops them and leases afresh (attempt 2), it never hands out a dead token.
        var next = await ConsumeWithin(queue);
        Assert.Equal(2, next.Envelope.Attempt);
        Assert.True(await queue.AckAsync(next));
        Assert.False(await queue.AckAsync(first));
    }

    [Fact]
    public async Task A_buffered_task_near_the_end_of_its_lease_is_renewed_before_it_is_handed_out()
    {
        var vt = TimeSpan.FromSeconds(30);
        var queue = NewPrefetchingQueue(prefetch: 1, new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = vt });
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));
        _ = await ConsumeWithin(queue);

        Time.Advance(vt * 2 / 3);
        var buffered = await ConsumeWithin(queue);

        Assert.Equal(("task-2", 1), (buffered.Envelope.Id, buffered.Envelope.Attempt));
        Assert.Equal(Time.GetUtcNow() + vt, buffered.LeasedUntil);
        Time.Advance(vt / 2);
        var stats = await queue.GetStatsAsync();
        // task-1 (not renewed) expired and went back; task-2's renewal moved its expiry, so it is still in flight.
        Assert.Equal((1, 1), (stats.InFlight, stats.Depth));
        Assert.True(await queue.AckAsync(buffered));
    }

    [Fact]
    public async Task Every_parked_consumer_gets_its_own_task_when_several_are_published_at_once()
    {
        var queue = NewQueue();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        // Let the queue learn that it is empty, so the consumers park.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            using var brief = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await queue.ConsumeAsync(brief.Token);
        });
        var consumers = Enumerable.Range(0, 4).Select(_ => queue.ConsumeAsync(cts.Token).AsTask()).ToArray();

        await using var otherConnection = await RedisTestServer.ConnectAsync();
        var publisher = new RedisQueueBackend(otherConnection, new RedisQueueOptions { KeyPrefix = Prefix }, Time)
            .Create(new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => publisher.PublishAsync(Envelope(i)).AsTask()));

        var leases = await Task.WhenAll(consumers);
        Assert.Equal(Enumerable.Range(0, 4).Select(n => $"task-{n}"), leases.Select(l => l.Envelope.Id).Order(StringComparer.Ordinal));
        Assert.All(leases, l => Assert.Equal(1, l.Envelope.Attempt));
        Assert.Equal(4, (await queue.GetStatsAsync()).InFlight);
    }

    [Fact]
    public async Task A_cancelled_parked_consumer_leaves_no_lease_behind()
    {
        var queue = NewQueue();
        using (var brief = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.ConsumeAsync(brief.Token));

        await queue.PublishAsync(Envelope(1));
        var lease = await ConsumeWithin(queue);

        Assert.Equal("task-1", lease.Envelope.Id);
        var stats = await queue.GetStatsAsync();
        Assert.Equal((1, 0), (stats.InFlight, stats.Depth));
    }

    [Fact]
    public async Task A_publish_from_the_instance_of_a_parked_consumer_leases_the_task_to_it_without_a_consume_trip()
    {
        // A parked consumer also wakes every poll interval to look at Redis itself; with the fixture's 20 ms it is often between two
        // looks (not parked) when the publish comes on a loaded machine, and then the task goes the ordinary way. A long interval
        // keeps it parked, so this test sees the hand-off every time.
        var queue = (RedisTaskQueue<WorkItem>)new RedisQueueBackend(Connection,
                new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromSeconds(30) }, Time)
            .Create(new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var waiting = queue.ConsumeAsync(cts.Token).AsTask();
        await Eventually.TrueAsync(() => queue.ParkedConsumers == 1, "the consumer found the queue empty and parked", TimeSpan.FromSeconds(10));

        var sent = new TaskEnvelope<WorkItem>("order-7", WorkItems.TaskType, new WorkItem(7, "héllo"), new DateTimeOffset(2025, 12, 31, 23, 0, 0, TimeSpan.FromHours(2)))
        {
            Headers = new Dictionary<string, string> { [TaskHeaders.TraceParent] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
            NotBefore = Time.GetUtcNow().AddTicks(-5),
            LastError = "earlier failure",
        };
        await queue.PublishAsync(sent);
        var lease = await waiting;

        Assert.Equal(1, queue.HandOffs);
        var got = lease.Envelope;
        Assert.Equal((sent.Id, sent.TaskType, 1, "earlier failure"), (got.Id, got.TaskType, got.Attempt, got.LastError));
        Assert.Equal(sent.Payload, got.Payload);
        Assert.NotSame(sent.Payload, got.Payload);
        Assert.Equal(sent.EnqueuedAt.UtcTicks, got.EnqueuedAt.UtcTicks);
        Assert.Equal(sent.NotBefore, got.NotBefore);
        Assert.Equal(sent.Headers, got.Headers);
        Assert.Equal(Time.GetUtcNow() + queue.Definition.VisibilityTimeout, lease.LeasedUntil);

        // In Redis it is leased exactly as a consume leaves it: in flight, attempt 1, its token settles it.
        var stats = await queue.GetStatsAsync();
        Assert.Equal((0, 1, 1), (stats.Depth, stats.InFlight, stats.Published));
        Assert.Equal(1, (int)await Db.HashGetAsync($"{Prefix}:{{work}}:t:order-7", "a"));
        Assert.True(await queue.RenewLeaseAsync(lease));
        Assert.True(await queue.AckAsync(lease));
        Assert.Equal(0, (await queue.GetStatsAsync()).Outstanding);
    }

    [Fact]
    public async Task A_hand_off_never_overtakes_an_older_ready_task()
    {
        var queue = (RedisTaskQueue<WorkItem>)NewQueue();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var waiting = queue.ConsumeAsync(cts.Token).AsTask();
        await Eventually.TrueAsync(() => queue.ParkedConsumers == 1, "the consumer found the queue empty and parked", TimeSpan.FromSeconds(10));

        // An older task is already in the ready list (written behind the queue's back, so nobody was told about it).
        await Db.HashSetAsync($"{Prefix}:{{work}}:t:task-0", [new("p", "{\"Number\":0,\"Text\":\"old\"}"), new("ty", WorkItems.TaskType),
            new("a", 0), new("e", Time.GetUtcNow().UtcTicks), new("nb", ""), new("h", ""), new("err", "")]);
        await Db.ListLeftPushAsync($"{Prefix}:{{work}}:ready", "task-0");
        await queue.PublishAsync(Envelope(1));

        var first = await waiting;
        Assert.Equal(0, queue.HandOffs);
        Assert.Equal("task-0", first.Envelope.Id);
        Assert.Equal("task-1", (await ConsumeWithin(queue)).Envelope.Id);
    }
}
