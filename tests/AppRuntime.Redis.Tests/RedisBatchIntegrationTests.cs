using System.Diagnostics;
using AppRuntime.Internal;
using AppRuntime.Redis.TestConsumer;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Issue #22, goal 1: publishes, acks and renewals of one queue instance that arrive while one of their kind is in flight go to
/// Redis together in one script call, and <c>PublishManyAsync</c> sends up to 256 tasks per call. Judged by what the test's own
/// reads of Redis (<c>redis-cli</c>) and consumers see; the batch counters only show that the batched path ran.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisBatchIntegrationTests : RedisQueueFixture
{
    private RedisTaskQueue<WorkItem> NewRedisQueue(QueueDefinition? definition = null) =>
        (RedisTaskQueue<WorkItem>)NewQueue(definition ?? new QueueDefinition("work", WorkItems.TaskType) { Capacity = 1000 });

    [Fact]
    public async Task Concurrent_publishes_are_coalesced_and_every_task_is_in_Redis_once()
    {
        var queue = NewRedisQueue();
        // Started back to back without awaiting: the first makes its own call, the others join batches while it is in flight.
        var publishes = Enumerable.Range(0, 64).Select(i => queue.PublishAsync(Envelope(i)).AsTask()).ToList();
        await Task.WhenAll(publishes);

        Assert.True(queue.PublishBatches.Items > 0, "no publish went through a batch call");
        Assert.True(queue.PublishBatches.Calls < 64, $"{queue.PublishBatches.Calls} batch calls for 64 publishes");
        var ready = await RedisCli.LinesAsync("LRANGE", $"{Prefix}:{{work}}:ready", "0", "-1");
        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"task-{i}").Order(), ready.Order());
        Assert.Equal("64", (await RedisCli.RunAsync("HGET", $"{Prefix}:{{work}}:stats", "published")).Trim());
        Assert.Equal("item 7", (await ConsumeAllAsync(queue, 64)).Single(e => e.Id == "task-7").Payload.Text);
    }

    [Fact]
    public async Task PublishMany_skips_an_id_already_in_the_queue_and_a_second_identical_call_publishes_nothing()
    {
        var queue = NewRedisQueue();
        var batch = Enumerable.Range(0, 5).Select(i => Envelope(i)).ToList();
        await queue.PublishAsync(batch[2]);

        await queue.PublishManyAsync(batch);
        await queue.PublishManyAsync(batch);

        Assert.Equal("5", (await RedisCli.RunAsync("LLEN", $"{Prefix}:{{work}}:ready")).Trim());
        Assert.Equal("5", (await RedisCli.RunAsync("HGET", $"{Prefix}:{{work}}:stats", "published")).Trim());
        var delivered = await ConsumeAllAsync(queue, 5);
        Assert.Equal(["task-2", "task-0", "task-1", "task-3", "task-4"], delivered.Select(e => e.Id));
    }

    [Fact]
    public async Task PublishMany_of_600_tasks_takes_three_script_calls_and_keeps_the_order()
    {
        var queue = NewRedisQueue();
        var batch = Enumerable.Range(0, 600).Select(i => Envelope(i)).ToList();

        await queue.PublishManyAsync(batch);

        Assert.Equal((3L, 600L), queue.PublishBatches);
        // The ready list is consumed from its right end: read right to left it is the publish order.
        var ready = await RedisCli.LinesAsync("LRANGE", $"{Prefix}:{{work}}:ready", "0", "-1");
        Assert.Equal(batch.Select(e => e.Id), ready.Reverse());
    }

    [Fact]
    public async Task PublishMany_with_a_due_time_in_the_future_waits_in_the_delayed_set()
    {
        var queue = NewRedisQueue();
        var later = Envelope(1) with { NotBefore = Time.GetUtcNow().AddMinutes(5) };

        await queue.PublishManyAsync([Envelope(0), later]);

        Assert.Equal(["task-0"], await RedisCli.LinesAsync("LRANGE", $"{Prefix}:{{work}}:ready", "0", "-1"));
        Assert.Equal(["task-1"], await RedisCli.LinesAsync("ZRANGE", $"{Prefix}:{{work}}:delayed", "0", "-1"));
        var lease = await ConsumeWithin(queue);
        Assert.Equal("task-0", lease.Envelope.Id);
        Assert.True(await queue.AckAsync(lease));
    }

    [Fact]
    public async Task Concurrent_renewals_are_coalesced_and_each_lease_gets_its_own_answer()
    {
        var queue = NewRedisQueue(new QueueDefinition("work", WorkItems.TaskType) { Capacity = 1000, VisibilityTimeout = TimeSpan.FromSeconds(30) });
        await queue.PublishManyAsync([.. Enumerable.Range(0, 8).Select(i => Envelope(i))]);
        var leases = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 8; i++)
            leases.Add(await ConsumeWithin(queue));
        Assert.True(await queue.AckAsync(leases[3]));   // settled: its renewal must answer "lost"
        Time.Advance(TimeSpan.FromSeconds(20));

        var results = await Task.WhenAll(leases.Select(l => queue.RenewLeaseAsync(l).AsTask()));

        Assert.Equal([true, true, true, false, true, true, true, true], results);
        var expected = Time.GetUtcNow().AddSeconds(30).ToUnixTimeMilliseconds();
        foreach (var i in new[] { 0, 1, 2, 4, 5, 6, 7 })
        {
            Assert.Equal(expected, leases[i].LeasedUntil.ToUnixTimeMilliseconds());
            Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture),
                (await RedisCli.RunAsync("ZSCORE", $"{Prefix}:{{work}}:leases", leases[i].Envelope.Id)).Trim());
        }
    }

    [Fact]
    public async Task A_record_replaced_by_another_type_answers_lease_lost_for_its_own_ack_only()
    {
        var queue = NewRedisQueue();
        await queue.PublishManyAsync([.. Enumerable.Range(0, 6).Select(i => Envelope(i))]);
        var leases = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 6; i++)
            leases.Add(await ConsumeWithin(queue));
        await RedisCli.RunAsync("DEL", $"{Prefix}:{{work}}:t:task-2");
        await RedisCli.RunAsync("SET", $"{Prefix}:{{work}}:t:task-2", "planted");

        var results = await Task.WhenAll(leases.Select(l => queue.AckAsync(l).AsTask()));

        Assert.Equal([true, true, false, true, true, true], results);
        Assert.Equal(["task-2"], await RedisCli.LinesAsync("ZRANGE", $"{Prefix}:{{work}}:leases", "0", "-1"));
        Assert.Equal("5", (await RedisCli.RunAsync("HGET", $"{Prefix}:{{work}}:stats", "acked")).Trim());
    }

    [Fact]
    public async Task A_deduplication_key_that_is_not_a_number_counts_as_expired_and_fails_neither_its_publish_nor_the_batch()
    {
        var queue = NewRedisQueue();
        await RedisCli.RunAsync("SET", $"{Prefix}:{{work}}:once:task-3", "planted");

        // Started back to back: the first goes alone, the rest together in one batch call with the planted key among them.
        var publishes = Enumerable.Range(0, 8).Select(i => queue.PublishOnceAsync(Envelope(i), TimeSpan.FromMinutes(5)).AsTask()).ToList();
        var results = await Task.WhenAll(publishes);

        Assert.All(results, Assert.True);
        var ready = await RedisCli.LinesAsync("LRANGE", $"{Prefix}:{{work}}:ready", "0", "-1");
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"task-{i}").Order(), ready.Order());
        Assert.NotEqual("planted", (await RedisCli.RunAsync("GET", $"{Prefix}:{{work}}:once:task-3")).Trim());
    }

    private static async Task<List<TaskEnvelope<WorkItem>>> ConsumeAllAsync(ITaskQueue<WorkItem> queue, int count)
    {
        var list = new List<TaskEnvelope<WorkItem>>();
        for (var i = 0; i < count; i++)
        {
            var lease = await ConsumeWithin(queue);
            list.Add(lease.Envelope);
            Assert.True(await queue.AckAsync(lease));
        }
        return list;
    }
}
