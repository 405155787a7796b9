using AppRuntime.Internal;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// A batch publish (coalesced publishes, or a <c>PublishManyAsync</c> chunk) leases what the publishing instance can take at once,
/// its parked consumers and its prefetch room, in the same script: no consume round trip, no second read of the payload. Judged by
/// what the test's own <c>redis-cli</c> reads from Redis right after the publish returned (before any consume ran), and by the
/// order and attempt counts the consumers then see.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisBatchHandOffIntegrationTests : RedisQueueFixture
{
    private static readonly QueueDefinition Work = new("work", WorkItems.TaskType) { Capacity = 1000, VisibilityTimeout = TimeSpan.FromMinutes(1) };

    private RedisTaskQueue<WorkItem> NewRedisQueue(int prefetch) =>
        (RedisTaskQueue<WorkItem>)new RedisQueueBackend(Connection,
                new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromMilliseconds(20), Prefetch = prefetch }, Time)
            .Create(Work, WorkItems.Serializer);

    private string Key(string name) => $"{Prefix}:{{work}}:{name}";

    /// <summary>Fails on every payload whose number is odd (a serializer that cannot read what it wrote).</summary>
    private sealed class OddExplodingSerializer : TaskSerializer<WorkItem>
    {
        public override byte[] Serialize(WorkItem payload) => WorkItems.Serializer.Serialize(payload);

        public override WorkItem Deserialize(ReadOnlySpan<byte> data)
        {
            var item = WorkItems.Serializer.Deserialize(data);
            return item.Number % 2 == 1 ? throw new InvalidOperationException("serializer bug") : item;
        }
    }

    /// <summary>A consume that returns at once, so the queue instance counts as having consumers at work.</summary>
    private async Task ConsumeOneAsync(ITaskQueue<WorkItem> queue)
    {
        await queue.PublishAsync(Envelope(999));
        Assert.True(await queue.AckAsync(await ConsumeWithin(queue)));
    }

    [Fact]
    public async Task A_batch_publish_leases_the_prefetch_room_to_the_publisher_and_leaves_the_rest_ready_in_order()
    {
        var queue = NewRedisQueue(prefetch: 4);
        await ConsumeOneAsync(queue);

        await queue.PublishManyAsync([.. Enumerable.Range(0, 10).Select(i => Envelope(i))]);

        // Before any consume: the first four are leased (attempt 1, a token), the other six wait in the ready list in order.
        Assert.Equal(["task-0", "task-1", "task-2", "task-3"], (await RedisCli.LinesAsync("ZRANGE", Key("leases"), "0", "-1")).Order());
        Assert.Equal(Enumerable.Range(4, 6).Select(i => $"task-{i}"), (await RedisCli.LinesAsync("LRANGE", Key("ready"), "0", "-1")).Reverse());
        Assert.Equal("1", (await RedisCli.RunAsync("HGET", Key("t:task-0"), "a")).Trim());
        Assert.NotEmpty((await RedisCli.RunAsync("HGET", Key("t:task-3"), "tk")).Trim());
        Assert.Equal("", (await RedisCli.RunAsync("HGET", Key("t:task-4"), "tk")).Trim());
        Assert.Equal("11", (await RedisCli.RunAsync("HGET", Key("stats"), "published")).Trim());
        Assert.Equal(4, queue.Buffered);

        var leases = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 10; i++)
            leases.Add(await ConsumeWithin(queue));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"task-{i}"), leases.Select(l => l.Envelope.Id));
        Assert.All(leases, l => Assert.Equal(1, l.Envelope.Attempt));
        Assert.Equal("item 2", leases[2].Envelope.Payload.Text);
        foreach (var lease in leases)
            Assert.True(await queue.AckAsync(lease), $"the ack of {lease.Envelope.Id} found its lease gone");
        Assert.Equal("0", (await RedisCli.RunAsync("ZCARD", Key("leases"))).Trim());
        Assert.Equal("0", (await RedisCli.RunAsync("EXISTS", Key("t:task-0"))).Trim());
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task A_batch_publish_hands_the_first_task_to_a_parked_consumer_without_a_prefetch()
    {
        var queue = NewRedisQueue(prefetch: 0);
        var consuming = ConsumeWithin(queue);
        await Eventually.TrueAsync(() => queue.ParkedConsumers == 1, "the consumer found the queue empty and parked", TimeSpan.FromSeconds(10));

        await queue.PublishManyAsync([Envelope(0), Envelope(1), Envelope(2)]);

        Assert.Equal(["task-0"], await RedisCli.LinesAsync("ZRANGE", Key("leases"), "0", "-1"));
        Assert.Equal(["task-2", "task-1"], await RedisCli.LinesAsync("LRANGE", Key("ready"), "0", "-1"));
        var first = await consuming;
        Assert.Equal(("task-0", 1), (first.Envelope.Id, first.Envelope.Attempt));
        Assert.Equal(1, queue.HandOffs);
        Assert.True(await queue.AckAsync(first));
        Assert.Equal("task-1", (await ConsumeWithin(queue)).Envelope.Id);
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task An_instance_whose_consumers_never_ran_gets_nothing_leased_to_its_buffer()
    {
        // Only sources publish here (no worker pool, or a paused one): a buffer would hold tasks for nobody.
        var queue = NewRedisQueue(prefetch: 4);

        await queue.PublishManyAsync([.. Enumerable.Range(0, 5).Select(i => Envelope(i))]);

        Assert.Equal("0", (await RedisCli.RunAsync("ZCARD", Key("leases"))).Trim());
        Assert.Equal("5", (await RedisCli.RunAsync("LLEN", Key("ready"))).Trim());
        Assert.Equal(0, queue.Buffered);
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task A_handed_off_task_the_serializer_cannot_read_is_given_back_and_the_next_keeps_its_own_lease()
    {
        var queue = (RedisTaskQueue<WorkItem>)new RedisQueueBackend(Connection,
                new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromMilliseconds(20), Prefetch = 4 }, Time)
            .Create(Work, new OddExplodingSerializer());
        await queue.PublishAsync(Envelope(998));
        Assert.True(await queue.AckAsync(await ConsumeWithin(queue)));

        // task-1 and task-3 cannot be read back: given back (uncounted) to the front of the ready list; task-0 and task-2 are
        // buffered with the tokens the script gave them.
        await queue.PublishManyAsync([.. Enumerable.Range(0, 4).Select(i => Envelope(i))]);

        var first = await ConsumeWithin(queue);
        var second = await ConsumeWithin(queue);
        Assert.Equal(["task-0", "task-2"], new[] { first.Envelope.Id, second.Envelope.Id });
        Assert.True(await queue.AckAsync(first), "task-0's lease");
        Assert.True(await queue.AckAsync(second), "task-2's lease: its token is the script's, not shifted by the unreadable task-1");
        await Eventually.TrueAsync(async () => (await RedisCli.RunAsync("LLEN", Key("ready"))).Trim() == "2",
            "both unreadable tasks went back to the ready list", TimeSpan.FromSeconds(10));
        Assert.Equal("0", (await RedisCli.RunAsync("HGET", Key("t:task-3"), "a")).Trim());
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task A_batch_publish_leases_nothing_while_an_older_task_is_ready()
    {
        var queue = NewRedisQueue(prefetch: 4);
        await ConsumeOneAsync(queue);
        await NewQueue(Work).PublishAsync(Envelope(100));   // another instance's task, waiting in the ready list

        await queue.PublishManyAsync([Envelope(0), Envelope(1)]);

        Assert.Equal("0", (await RedisCli.RunAsync("ZCARD", Key("leases"))).Trim());
        Assert.Equal(["task-100", "task-0", "task-1"], (await RedisCli.LinesAsync("LRANGE", Key("ready"), "0", "-1")).Reverse());
        var order = new List<string>();
        for (var i = 0; i < 3; i++)
            order.Add((await ConsumeWithin(queue)).Envelope.Id);
        Assert.Equal(["task-100", "task-0", "task-1"], order);
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task A_batch_publish_that_may_hand_off_first_returns_an_expired_lease_to_the_queue_and_delivers_it_first()
    {
        // A busy instance fed only by its own publishes runs no consume script: its publishes must reclaim a dead instance's leases.
        var dead = NewQueue(Work);
        await dead.PublishAsync(Envelope(100));
        _ = await ConsumeWithin(dead);   // leased, never settled: its process "died"
        var queue = NewRedisQueue(prefetch: 4);
        await ConsumeOneAsync(queue);
        Time.Advance(Work.VisibilityTimeout + TimeSpan.FromSeconds(1));

        await queue.PublishManyAsync([Envelope(0), Envelope(1)]);

        // Reclaimed by the publish's maintenance: back in the ready list, ahead of the new tasks, which are then not handed off.
        Assert.Equal(["task-100", "task-0", "task-1"], (await RedisCli.LinesAsync("LRANGE", Key("ready"), "0", "-1")).Reverse());
        Assert.Equal("0", (await RedisCli.RunAsync("ZCARD", Key("leases"))).Trim());
        var redelivered = await ConsumeWithin(queue);
        Assert.Equal(("task-100", 2), (redelivered.Envelope.Id, redelivered.Envelope.Attempt));
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    [Fact]
    public async Task Tasks_handed_off_to_an_instance_that_dies_expire_one_visibility_timeout_after_the_publish_and_go_to_another()
    {
        var dying = NewRedisQueue(prefetch: 4);
        await ConsumeOneAsync(dying);
        var batch = Enumerable.Range(0, 4).Select(i => Envelope(i)).ToArray();
        Time.Advance(TimeSpan.FromSeconds(5));   // the lease counts from the publish, not from the envelopes or the last consume
        var publishedAt = Time.GetUtcNow();

        await dying.PublishManyAsync(batch);

        // Each handed-off lease ends one visibility timeout after the publish, as a consumed one does (Redis's own scores).
        var scores = await RedisCli.LinesAsync("ZRANGE", Key("leases"), "0", "-1", "WITHSCORES");
        var expected = (publishedAt + Work.VisibilityTimeout).ToUnixTimeMilliseconds();
        Assert.Equal(8, scores.Length);
        for (var i = 0; i < scores.Length; i += 2)
            Assert.True(Math.Abs(long.Parse(scores[i + 1]) - expected) <= 1, $"{scores[i]} is leased until {scores[i + 1]}, expected {expected}");
        Assert.Equal(4, dying.Buffered);

        // The instance "dies" with the four in its buffer: it never hands them to a worker, never settles or renews them.
        var survivor = NewRedisQueue(prefetch: 0);
        Time.Advance(Work.VisibilityTimeout - TimeSpan.FromSeconds(1));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ConsumeWithin(survivor, TimeSpan.FromMilliseconds(300)));

        Time.Advance(TimeSpan.FromSeconds(2));
        var redelivered = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 4; i++)
            redelivered.Add(await ConsumeWithin(survivor));
        Assert.Equal(["task-0", "task-1", "task-2", "task-3"], redelivered.Select(l => l.Envelope.Id).Order());
        Assert.All(redelivered, l => Assert.Equal(2, l.Envelope.Attempt));
        foreach (var lease in redelivered)
            Assert.True(await survivor.AckAsync(lease), $"the ack of {lease.Envelope.Id} found its lease gone");
        Assert.Equal("0", (await RedisCli.RunAsync("ZCARD", Key("leases"))).Trim());
        await ((IAsyncDisposable)survivor).DisposeAsync();
        await ((IAsyncDisposable)dying).DisposeAsync();
    }
}
