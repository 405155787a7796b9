using System.Diagnostics;
using AppRuntime.Redis.TestConsumer;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Issue #19, finding 4: records corrupted by someone with Redis access, planted with <c>redis-cli</c> as an operator would. A
/// corrupt task is dead-lettered with the reason (never lost, never blocking the queue), and a dead-letter listing skips and
/// reports an entry it cannot read instead of failing. Judged by the test's own <c>redis-cli</c> reads and the queue's listing.
/// </summary>
[Trait("Category", "Integration")]
public sealed class CorruptRecordIntegrationTests : RedisQueueFixture
{
    private string TaskKey(string id) => $"{Prefix}:{{work}}:t:{id}";

    private string DeadKey => $"{Prefix}:{{work}}:dead";

    [Theory]
    [InlineData("a", "abc", "attempt count 'abc' is not a whole number from 0 to 1000000000")]
    [InlineData("a", "99999999999999999999", "attempt count '99999999999999999999' is not a whole number from 0 to 1000000000")]
    [InlineData("e", "yesterday", "enqueued-at 'yesterday' is not a time (UTC ticks)")]
    [InlineData("nb", "soon", "not-before 'soon' is not a time (UTC ticks)")]
    public async Task A_task_with_a_corrupt_field_is_dead_lettered_with_the_reason_and_the_next_task_is_delivered(string field, string value, string reason)
    {
        var queue = NewQueue();
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));
        await RedisCli.RunAsync("HSET", TaskKey("task-1"), field, value);

        var lease = await ConsumeWithin(queue);

        Assert.Equal("task-2", lease.Envelope.Id);
        Assert.Equal(["task-1"], await RedisCli.LinesAsync("ZRANGE", DeadKey, "0", "-1"));
        var stored = await RedisCli.RunAsync("HGET", TaskKey("task-1"), "err");
        Assert.Equal("Unreadable task record: " + reason, stored.TrimEnd('\n'));
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal(("task-1", "Unreadable task record: " + reason), (dead.Id, dead.Reason));
    }

    [Theory]
    [InlineData("string")]
    [InlineData("list")]
    public async Task A_task_key_of_the_wrong_type_is_dead_lettered_with_its_content_kept_and_the_next_task_is_delivered(string type)
    {
        var queue = NewQueue();
        await queue.PublishAsync(Envelope(1));
        await queue.PublishAsync(Envelope(2));
        await RedisCli.RunAsync("DEL", TaskKey("task-1"));
        if (type == "string")
            await RedisCli.RunAsync("SET", TaskKey("task-1"), "planted garbage");
        else
            await RedisCli.RunAsync("RPUSH", TaskKey("task-1"), "x", "y");

        var lease = await ConsumeWithin(queue);

        Assert.Equal("task-2", lease.Envelope.Id);
        Assert.Equal(["task-1"], await RedisCli.LinesAsync("ZRANGE", DeadKey, "0", "-1"));
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.StartsWith($"Unreadable task record: the task record is a Redis {type}, not a hash", dead.Reason, StringComparison.Ordinal);
        if (type == "string")
            Assert.Equal("planted garbage", dead.Payload);
        Assert.Equal(1, (await queue.PurgeDeadLettersAsync(["task-1"])));
        Assert.Equal("0", (await RedisCli.RunAsync("EXISTS", TaskKey("task-1"))).Trim());
    }

    [Fact]
    public async Task A_leased_task_whose_attempt_count_is_corrupted_does_not_block_the_queue_when_its_lease_expires()
    {
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(30) });
        await queue.PublishAsync(Envelope(1));
        Assert.Equal("task-1", (await ConsumeWithin(queue)).Envelope.Id);
        await RedisCli.RunAsync("HSET", TaskKey("task-1"), "a", "not-a-number");
        Time.Advance(TimeSpan.FromMinutes(1)); // the lease expires: the next consume reclaims it
        await queue.PublishAsync(Envelope(2));

        var lease = await ConsumeWithin(queue);

        Assert.Equal("task-2", lease.Envelope.Id);
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal(("task-1", "Unreadable task record: attempt count 'not-a-number' is not a whole number from 0 to 1000000000"), (dead.Id, dead.Reason));
    }

    [Theory]
    [InlineData("dla", "last tuesday", "dead-lettered-at 'last tuesday' is not a time (UTC ticks)")]
    [InlineData("e", "-5", "enqueued-at '-5' is not a time (UTC ticks)")]
    [InlineData("a", "many", "attempt count 'many' is not a whole number")]
    public async Task A_listing_skips_and_reports_a_dead_letter_it_cannot_read(string field, string value, string problem)
    {
        var queue = NewQueue();
        foreach (var n in new[] { 1, 2, 3 })
        {
            await queue.PublishAsync(Envelope(n));
            Assert.True(await queue.DeadLetterAsync(await ConsumeWithin(queue), $"bad {n}"));
        }
        await RedisCli.RunAsync("HSET", TaskKey("task-2"), field, value);

        Assert.Equal(["task-1", "task-3"], (await queue.GetDeadLettersAsync()).Select(d => d.Id));
        var listing = await queue.ListDeadLettersAsync();
        Assert.Equal(["task-1", "task-3"], listing.Items.Select(d => d.Id));
        var skipped = Assert.Single(listing.Skipped);
        Assert.Equal(("task-2", problem), (skipped.Id, skipped.Problem));
    }

    [Fact]
    public async Task A_listing_skips_and_reports_a_dead_letter_whose_key_has_the_wrong_type()
    {
        var queue = NewQueue();
        await queue.PublishAsync(Envelope(1));
        Assert.True(await queue.DeadLetterAsync(await ConsumeWithin(queue), "bad"));
        await RedisCli.RunAsync("DEL", TaskKey("task-1"));
        await RedisCli.RunAsync("SET", TaskKey("task-1"), "planted");

        Assert.Empty(await queue.GetDeadLettersAsync());
        var listing = await queue.ListDeadLettersAsync();
        Assert.Empty(listing.Items);
        Assert.Equal(("task-1", "the task record is a Redis string, not a hash"), (Assert.Single(listing.Skipped).Id, listing.Skipped[0].Problem));
        Assert.Equal(1, await queue.PurgeDeadLettersAsync(["task-1"]));
    }
}
