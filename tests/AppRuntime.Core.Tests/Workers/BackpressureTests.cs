using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Core.Tests.Workers;

public sealed class BackpressureTests
{
    [Fact]
    public async Task Publishing_into_a_full_queue_waits_until_a_slot_frees()
    {
        await using var rt = new TestRuntime(b => b.AddQueue<Job>(new QueueDefinition("small", "Job") { Capacity = 5 }));
        await rt.StartAsync();
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        for (var i = 0; i < 5; i++)
            await publisher.PublishAsync(new Job(i));

        var blocked = publisher.PublishAsync(new Job(5)).AsTask();
        await Task.Yield();
        Assert.False(blocked.IsCompleted, "the sixth publish must wait while the queue holds 5 of 5");

        var queue = rt.Queue<Job>("small");
        var lease = await queue.ConsumeAsync();
        Assert.False(blocked.IsCompleted, "an in-flight task still holds its slot");
        await queue.AckAsync(lease);

        await blocked.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(5, (await queue.GetStatsAsync()).Outstanding);
    }

    [Fact]
    public async Task A_cancelled_publish_into_a_full_queue_throws_and_adds_nothing()
    {
        await using var rt = new TestRuntime(b => b.AddQueue<Job>(new QueueDefinition("tiny", "Job") { Capacity = 1 }));
        await rt.StartAsync();
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        await publisher.PublishAsync(new Job(1));
        using var cts = new CancellationTokenSource();

        var blocked = publisher.PublishAsync(new Job(2), null, cts.Token).AsTask();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked);
        Assert.Equal(1, (await rt.Queue<Job>("tiny").GetStatsAsync()).Published);
    }

    [Fact]
    public async Task Source_pauses_at_the_high_watermark_and_continues_when_the_queue_drains()
    {
        var source = new EagerSource();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("water", "Job") { Capacity = 10, HighWatermark = 0.5 });
            b.AddWorkerPool(new WorkerPoolDefinition("water") { Workers = 1 });
            // The worker holds its task until the gate opens: in-flight tasks count toward the watermark too.
            b.AddHandler<Job>("water", _ => new DelegateHandler<Job>(async (_, _, _) => await gate.Task));
            b.AddSource<Job>(new SourceDefinition("eager", "water"), _ => source);
        }, options: o => o.BackpressureCheckInterval = TimeSpan.FromMilliseconds(5));
        await rt.StartAsync();

        await Eventually.TrueAsync(() => rt.Runtime.GetSourceSnapshots()[0].State == "backpressure", "source waits at the watermark");
        Assert.Equal(5, (await rt.Queue<Job>("water").GetStatsAsync()).Outstanding);
        Assert.Equal(5, Volatile.Read(ref source.Published));
        var health = await rt.Health.CheckReadinessAsync();
        Assert.Equal(HealthStatus.Degraded, health.Status);
        Assert.Contains(health.Entries, e => e.Name == "queues" && e.Result.Description!.Contains("water", StringComparison.Ordinal));

        gate.SetResult();
        await Eventually.TrueAsync(() => Volatile.Read(ref source.Published) >= 20, "source continues once the worker drains the queue");
    }

    private sealed class EagerSource : ITaskSource<Job>
    {
        public int Published;

        public async Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken)
        {
            var i = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                await context.WaitUntilReadyAsync(cancellationToken);
                await context.PublishAsync(new Job(i++), null, cancellationToken);
                Interlocked.Increment(ref Published);
            }
        }
    }
}
