using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

[Trait("Category", "Integration")]
public sealed class SharedQueueIntegrationTests(ITestOutputHelper output) : RedisQueueFixture
{
    [Fact]
    public async Task Three_consumer_processes_share_one_queue_and_handle_every_task_exactly_once()
    {
        const int total = 3_000;
        var queue = NewQueue(new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromSeconds(60) }, TimeProvider.System);
        var processes = Enumerable.Range(1, 3).Select(i => ConsumerProcess.Start(Prefix, "work", $"consumer-{i}", 2, delayMs: 2, visibilityMs: 60_000)).ToList();
        try
        {
            await Eventually.TrueAsync(async () => await Db.SetLengthAsync(WorkItems.ReadyKey(Prefix)) == 3,
                "three consumer processes start" + Environment.NewLine + ProcessTestSupport.Describe(processes), TimeSpan.FromSeconds(60));

            await ProcessTestSupport.PublishRangeAsync(queue, 0, total);

            await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Acked == total,
                "all tasks are acked" + Environment.NewLine + ProcessTestSupport.Describe(processes), TimeSpan.FromSeconds(120));
            foreach (var p in processes)
                await p.StopAsync();

            var handled = await ProcessTestSupport.ReadCountsAsync(Db, WorkItems.HandledKey(Prefix));
            var byConsumer = await ProcessTestSupport.ReadCountsAsync(Db, WorkItems.ByConsumerKey(Prefix));
            output.WriteLine(string.Join(", ", byConsumer.OrderBy(c => c.Key).Select(c => $"{c.Key}: {c.Value}")));
            Assert.Equal(total, handled.Count);
            Assert.All(handled.Values, c => Assert.Equal(1, c));
            Assert.Equal(total, byConsumer.Values.Sum());
            Assert.Equal(3, byConsumer.Count);
            Assert.All(byConsumer.Values, c => Assert.True(c > 0));
        }
        finally
        {
            foreach (var p in processes)
                p.Dispose();
        }
    }
}
