using AppRuntime.Redis.TestConsumer;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

[Trait("Category", "Integration")]
public sealed class RedisTaskQueueIntegrationTests : RedisQueueFixture
{
    [Fact]
    public async Task The_whole_envelope_survives_the_trip_through_redis()
    {
        var queue = NewQueue();
        var enqueuedAt = new DateTimeOffset(2025, 12, 31, 23, 59, 59, TimeSpan.FromHours(2)).AddTicks(1234567);
        var sent = new TaskEnvelope<WorkItem>("order-42", WorkItems.TaskType, new WorkItem(42, "héllo \"quoted\""), enqueuedAt)
        {
            Headers = new Dictionary<string, string>
            {
                [TaskHeaders.TraceParent] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                [TaskHeaders.TraceState] = "congo=t61rcWkgMzE",
                [TaskHeaders.Source] = "imap",
            },
            NotBefore = Time.GetUtcNow().AddTicks(-5),
            LastError = "earlier failure",
        };

        await queue.PublishAsync(sent);
        var lease = await ConsumeWithin(queue);

        var got = lease.Envelope;
        Assert.Equal(sent.Id, got.Id);
        Assert.Equal(sent.TaskType, got.TaskType);
        Assert.Equal(sent.Payload, got.Payload);
        Assert.Equal(1, got.Attempt);
        Assert.Equal(enqueuedAt, got.EnqueuedAt);
        Assert.Equal(enqueuedAt.UtcTicks, got.EnqueuedAt.UtcTicks);
        Assert.Equal(sent.NotBefore, got.NotBefore);
        Assert.Equal(sent.Headers.OrderBy(h => h.Key), got.Headers.OrderBy(h => h.Key));
        Assert.Equal("earlier failure", got.LastError);
        Assert.Equal(Time.GetUtcNow() + queue.Definition.VisibilityTimeout, lease.LeasedUntil);
    }

    [Fact]
    public async Task An_expired_lease_is_redelivered_with_the_next_attempt_and_the_stale_ack_returns_false()
    {
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(30) });
        await queue.PublishAsync(Envelope(1));
        var first = await ConsumeWithin(queue);

        Time.Advance(TimeSpan.FromSeconds(31));
        var second = await ConsumeWithin(queue);

        Assert.Equal(first.Envelope.Id, second.Envelope.Id);
        Assert.Equal(2, second.Envelope.Attempt);
        Assert.False(await queue.AckAsync(first));
        Assert.Equal(NackResult.LeaseLost, await queue.NackAsync(first));
        Assert.False(await queue.RenewLeaseAsync(first));
        Assert.True(await queue.AckAsync(second));
        var stats = await queue.GetStatsAsync();
        Assert.Equal(0, stats.Outstanding);
        Assert.Equal(1, stats.Acked);
    }

    [Fact]
    public async Task A_renewed_lease_is_not_redelivered_while_the_handler_works()
    {
        var vt = TimeSpan.FromSeconds(30);
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = vt });
        await queue.PublishAsync(Envelope(1));
        var lease = await ConsumeWithin(queue);

        // A handler that runs ten visibility timeouts, heartbeating every VisibilityTimeout/3 as the worker does.
        for (var i = 0; i < 30; i++)
        {
            Time.Advance(vt / 3);
            Assert.True(await queue.RenewLeaseAsync(lease));
            Assert.Equal(Time.GetUtcNow() + vt, lease.LeasedUntil);
            var stats = await queue.GetStatsAsync();   // runs the reclaim of expired leases
            Assert.Equal(1, stats.InFlight);
            Assert.Equal(0, stats.Depth);
        }

        Assert.True(await queue.AckAsync(lease));
        Assert.Equal(0, (await queue.GetStatsAsync()).Outstanding);
    }

    [Fact]
    public async Task Without_renewal_the_same_long_handler_loses_its_lease()
    {
        var vt = TimeSpan.FromSeconds(30);
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = vt });
        await queue.PublishAsync(Envelope(1));
        var lease = await ConsumeWithin(queue);

        Time.Advance(vt + TimeSpan.FromSeconds(1));
        var stats = await queue.GetStatsAsync();

        Assert.Equal(0, stats.InFlight);
        Assert.Equal(1, stats.Depth);
        Assert.False(await queue.RenewLeaseAsync(lease));
    }

    [Fact]
    public async Task A_nack_with_delay_waits_in_the_delayed_set_and_comes_back_when_due()
    {
        var queue = NewQueue();
        await queue.PublishAsync(Envelope(1));
        var lease = await ConsumeWithin(queue);

        Assert.Equal(NackResult.Requeued, await queue.NackAsync(lease, TimeSpan.FromMinutes(1), "boom"));
        var stats = await queue.GetStatsAsync();
        Assert.Equal((0, 0, 1), (stats.Depth, stats.InFlight, stats.Delayed));
        Assert.Equal(1, await Db.SortedSetLengthAsync($"{Prefix}:{{work}}:delayed"));

        using (var early = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.ConsumeAsync(early.Token));

        Time.Advance(TimeSpan.FromMinutes(1));
        var again = await ConsumeWithin(queue);
        Assert.Equal(2, again.Envelope.Attempt);
        Assert.Equal("boom", again.Envelope.LastError);
        Assert.Equal(Time.GetUtcNow(), again.Envelope.NotBefore);
    }

    [Fact]
    public async Task After_max_attempts_the_task_is_dead_lettered_and_can_be_listed_retried_and_purged()
    {
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { MaxAttempts = 2 });
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));

        var a = await ConsumeWithin(queue);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(a, error: "first"));
        var b = await ConsumeWithin(queue);
        Assert.Equal("task-2", b.Envelope.Id);
        Assert.True(await queue.DeadLetterAsync(b, "permanent: bad order"));
        var a2 = await ConsumeWithin(queue);
        Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(a2, error: "second"));

        var dead = await queue.GetDeadLettersAsync();
        Assert.Equal(["task-2", "task-1"], dead.Select(d => d.Id));
        Assert.Equal("permanent: bad order", dead[0].Reason);
        Assert.Equal("second", dead[1].Reason);
        Assert.Equal(2, dead[1].Attempts);
        Assert.Equal("work", dead[1].Queue);
        Assert.Contains("\"Number\":1", dead[1].Payload, StringComparison.Ordinal);
        Assert.Equal(Time.GetUtcNow(), dead[1].DeadLetteredAt);
        Assert.Equal(2, (await queue.GetStatsAsync()).DeadLettered);

        Assert.Equal(1, await queue.RetryDeadLettersAsync(["task-1", "missing"]));
        var retried = await ConsumeWithin(queue);
        Assert.Equal(("task-1", 1), (retried.Envelope.Id, retried.Envelope.Attempt));

        Assert.Equal(1, await queue.PurgeDeadLettersAsync());
        Assert.Empty(await queue.GetDeadLettersAsync());
        Assert.False(await Db.KeyExistsAsync($"{Prefix}:{{work}}:t:task-2"));
    }

    [Fact]
    public async Task A_lease_that_expires_on_the_last_attempt_is_dead_lettered_instead_of_looping()
    {
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { MaxAttempts = 1, VisibilityTimeout = TimeSpan.FromSeconds(5) });
        await queue.PublishAsync(Envelope(1));
        _ = await ConsumeWithin(queue);

        Time.Advance(TimeSpan.FromSeconds(6));
        var stats = await queue.GetStatsAsync();

        Assert.Equal((0, 0, 1), (stats.Depth, stats.InFlight, stats.DeadLettered));
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Contains("expired", dead.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_gives_the_task_back_without_counting_an_attempt()
    {
        var queue = NewQueue();
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));
        var lease = await ConsumeWithin(queue);

        Assert.True(await queue.ReleaseAsync(lease));
        Assert.False(await queue.AckAsync(lease));

        var again = await ConsumeWithin(queue);
        Assert.Equal(("task-1", 1), (again.Envelope.Id, again.Envelope.Attempt));
    }

    [Fact]
    public async Task Publish_waits_at_capacity_until_a_task_is_settled()
    {
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { Capacity = 2 });
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));

        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.PublishAsync(Envelope(3), cts.Token));
        var blocked = queue.PublishAsync(Envelope(3)).AsTask();
        Assert.Equal(2, (await queue.GetStatsAsync()).Outstanding);
        Assert.False(blocked.IsCompleted);

        var lease = await ConsumeWithin(queue);
        Assert.True(await queue.AckAsync(lease));

        await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, (await queue.GetStatsAsync()).Outstanding);
    }

    [Fact]
    public async Task A_waiting_consumer_is_woken_by_a_publish_from_another_connection()
    {
        var consumerQueue = NewQueue();
        var waiting = ConsumeWithin(consumerQueue, TimeSpan.FromSeconds(20));

        await using var other = await RedisTestServer.ConnectAsync();
        var publisherQueue = new RedisQueueBackend(other, new RedisQueueOptions { KeyPrefix = Prefix }, Time)
            .Create(new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);
        await publisherQueue.PublishAsync(Envelope(7));

        var lease = await waiting;
        Assert.Equal("task-7", lease.Envelope.Id);
    }

    [Fact]
    public async Task Stats_count_depth_in_flight_delayed_and_the_consumers_of_every_process()
    {
        var q1 = NewQueue();
        var q2 = NewQueue();
        for (var i = 0; i < 5; i++)
            await q1.PublishAsync(Envelope(i));
        await q1.PublishAsync(Envelope(99) with { NotBefore = Time.GetUtcNow().AddMinutes(5) });
        _ = await ConsumeWithin(q1);
        _ = await ConsumeWithin(q2);

        var stats = await q2.GetStatsAsync();

        Assert.Equal(3, stats.Depth);
        Assert.Equal(2, stats.InFlight);
        Assert.Equal(1, stats.Delayed);
        Assert.Equal(6, stats.Published);
        Assert.Equal(2, stats.Consumers);
        Assert.Equal(10_000, stats.Capacity);
    }

    [Fact]
    public async Task Publishing_an_id_that_is_already_queued_is_ignored()
    {
        var queue = NewQueue();
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(1) with { Payload = new WorkItem(1, "changed") });

        var stats = await queue.GetStatsAsync();
        Assert.Equal((1, 1), (stats.Depth, stats.Published));
        Assert.Equal("item 1", (await ConsumeWithin(queue)).Envelope.Payload.Text);
    }
    [Fact]
    public async Task An_idle_consumer_polls_without_writing_so_it_neither_grows_the_aof_nor_waits_for_fsync()
    {
        // A Redis server of its own: the count of writes is the server's, and the shared server takes writes from the other test
        // assemblies running at the same time (instance heartbeats, their queues).
        const string endpoint = "127.0.0.1:6395";
        await RedisTestServer.RunScriptAsync(endpoint, "start");
        try
        {
            await using var connection = await RedisTestServer.ConnectAsync(endpoint);
            // The system clock, so every poll would carry a new last-seen score (an unchanged score is no write).
            var queue = new RedisQueueBackend(connection, new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromMilliseconds(20) }, TimeProvider.System)
                .Create(new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);
            using (var first = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.ConsumeAsync(first.Token));
            var before = await WritesAsync(connection);

            // About 15 polls at a 20 ms interval.
            using (var idle = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.ConsumeAsync(idle.Token));

            // At most the once-a-second consumer heartbeat; without the throttle every poll writes.
            Assert.InRange(await WritesAsync(connection) - before, 0, 1);
            Assert.Equal(1, (await queue.GetStatsAsync()).Consumers);
            await ((IAsyncDisposable)queue).DisposeAsync();
        }
        finally
        {
            await RedisTestServer.RunScriptAsync(endpoint, "stop");
        }
    }

    private static async Task<long> WritesAsync(IConnectionMultiplexer connection)
    {
        var info = await connection.GetServer(connection.GetEndPoints()[0]).InfoAsync("persistence");
        return long.Parse(info.SelectMany(g => g).Single(kv => kv.Key == "rdb_changes_since_last_save").Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
