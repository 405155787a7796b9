using System.Text;
using AppRuntime.Redis.TestConsumer;

namespace AppRuntime.Redis.Tests;

[Trait("Category", "Integration")]
public sealed class PoisonPayloadIntegrationTests : RedisQueueFixture
{
    private sealed class RawSerializer : TaskSerializer<string>
    {
        public override byte[] Serialize(string payload) => Encoding.UTF8.GetBytes(payload);

        public override string Deserialize(ReadOnlySpan<byte> data) => Encoding.UTF8.GetString(data);
    }

    private sealed class ExplodingSerializer : TaskSerializer<WorkItem>
    {
        public override byte[] Serialize(WorkItem payload) => WorkItems.Serializer.Serialize(payload);

        public override WorkItem Deserialize(ReadOnlySpan<byte> data) => throw new InvalidOperationException("serializer bug");
    }

    [Fact]
    public async Task A_payload_that_cannot_be_deserialized_is_dead_lettered_with_its_error_and_does_not_block_the_queue()
    {
        var definition = new QueueDefinition("work", WorkItems.TaskType);
        // Another producer (an older version, a bug) wrote bytes the consumer's serializer cannot read.
        var rogue = NewBackend().Create(definition, new RawSerializer());
        await rogue.PublishAsync(new TaskEnvelope<string>("poison-1", WorkItems.TaskType, "{not json", Time.GetUtcNow()));
        var queue = NewQueue(definition);
        await queue.PublishAsync(Envelope(1));

        var lease = await ConsumeWithin(queue);

        Assert.Equal("task-1", lease.Envelope.Id);
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal("poison-1", dead.Id);
        Assert.StartsWith("Payload could not be deserialized: Payload is not a valid WorkItem", dead.Reason, StringComparison.Ordinal);
        Assert.Equal("{not json", dead.Payload);
        Assert.Equal(1, dead.Attempts);
        var stats = await queue.GetStatsAsync();
        Assert.Equal((0, 1, 1), (stats.Depth, stats.InFlight, stats.DeadLettered));
    }

    [Fact]
    public async Task A_serializer_that_throws_something_else_does_not_crash_the_consumer_either()
    {
        var definition = new QueueDefinition("work", WorkItems.TaskType);
        await NewQueue(definition).PublishAsync(Envelope(1));
        var queue = NewBackend().Create(definition, new ExplodingSerializer());

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.ConsumeAsync(cts.Token));

        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal("task-1", dead.Id);
        Assert.Contains("serializer bug", dead.Reason, StringComparison.Ordinal);
    }
}
