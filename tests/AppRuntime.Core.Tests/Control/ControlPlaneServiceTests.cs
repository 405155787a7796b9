using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Core.Tests.Control;

public sealed class ControlPlaneServiceTests
{
    private static TestRuntime Create(Func<Job, TaskContext, ValueTask> handle) => new(b =>
    {
        b.AddModule(new ModuleTopology("shop", [new SourceNode("feed", "orders", "Feed")], [new QueueNode("orders", "Job", 100)], [new PoolNode("orders", 1, 2)], [new HandlerNode("orders", "OrderHandler")]));
        b.AddQueue<Job>(new QueueDefinition("orders", "Job") { Capacity = 100 });
        b.AddWorkerPool(new WorkerPoolDefinition("orders") { MaxAttempts = 2, RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero });
        b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((job, ctx, _) => handle(job, ctx)));
        b.AddSource<Job>(new SourceDefinition("feed", "orders"), _ => new ListSource<Job>([]));
    });

    [Fact]
    public async Task Dead_letters_can_be_listed_retried_and_purged()
    {
        var fixedIt = false;
        var done = 0;
        await using var rt = Create((job, _) =>
        {
            if (!Volatile.Read(ref fixedIt))
                throw new InvalidOperationException($"cannot process {job.Number}");
            Interlocked.Increment(ref done);
            return ValueTask.CompletedTask;
        });
        await rt.StartAsync();
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        foreach (var id in new[] { "a", "b", "c" })
            await publisher.PublishAsync(new Job(id[0]), new TaskPublishOptions { Id = id });
        await Eventually.TrueAsync(async () => (await rt.Control.GetDeadLettersAsync("orders")).Value!.Count == 3, "all three dead-lettered");

        var dead = (await rt.Control.GetDeadLettersAsync("orders")).Value!;
        Assert.All(dead, d => Assert.Contains("cannot process", d.Reason, StringComparison.Ordinal));
        Volatile.Write(ref fixedIt, true);

        Assert.Equal(1, (await rt.Control.RetryDeadLettersAsync("orders", ["b"])).Value);
        await Eventually.TrueAsync(() => Volatile.Read(ref done) == 1, "the retried task is processed");
        Assert.Equal(1, (await rt.Control.PurgeDeadLettersAsync("orders", ["a"])).Value);
        Assert.Equal(["c"], (await rt.Control.GetDeadLettersAsync("orders")).Value!.Select(d => d.Id));
        Assert.Equal(1, (await rt.Control.PurgeDeadLettersAsync("orders")).Value);
        Assert.Empty((await rt.Control.GetDeadLettersAsync("orders")).Value!);
    }

    [Fact]
    public async Task A_huge_failure_reason_is_stored_and_shown_capped_at_1_KiB_saying_so()
    {
        var huge = "unknown SKU " + new string('Z', 1_900_000);
        await using var rt = Create((_, _) => throw new PermanentTaskException(huge));
        await rt.StartAsync();
        await rt.Provider.GetRequiredService<ITaskPublisher<Job>>().PublishAsync(new Job(1), new TaskPublishOptions { Id = "big" });
        await Eventually.TrueAsync(async () => (await rt.Control.GetDeadLettersAsync("orders")).Value!.Count == 1, "the task is dead-lettered");

        var dead = Assert.Single((await rt.Control.GetDeadLettersAsync("orders")).Value!);
        Assert.True(dead.Reason.Length <= 1024, $"the stored reason has {dead.Reason.Length} characters");
        Assert.StartsWith("PermanentTaskException: unknown SKU ZZZ", dead.Reason, StringComparison.Ordinal);
        Assert.EndsWith($"… [truncated: {"PermanentTaskException: ".Length + huge.Length} characters in all]", dead.Reason, StringComparison.Ordinal);
        // The worker records the trace when its span ends, which is just after the queue took the dead letter.
        await Eventually.TrueAsync(() => rt.Control.GetRecentTraces().Any(t => t.TaskId == "big"), "the task's trace is recorded");
        var trace = Assert.Single(rt.Control.GetRecentTraces(), t => t.TaskId == "big");
        Assert.True(trace.Error!.Length <= 1024, $"the trace's error has {trace.Error.Length} characters");
    }

    [Fact]
    public async Task Status_shows_runtime_queues_pools_workers_and_sources()
    {
        await using var rt = Create((_, _) => ValueTask.CompletedTask);
        await rt.StartAsync();

        var status = await rt.Control.GetStatusAsync();

        Assert.Equal(RuntimeState.Running, status.State);
        Assert.Equal("orders", Assert.Single(status.Queues).Name);
        Assert.Equal(100, status.Queues[0].Stats.Capacity);
        var pool = Assert.Single(status.Pools);
        Assert.Single(pool.Workers);
        Assert.False(pool.Paused);
        Assert.Equal("feed", Assert.Single(status.Sources).Name);
    }

    [Fact]
    public async Task Unknown_names_are_rejected_with_the_name()
    {
        await using var rt = Create((_, _) => ValueTask.CompletedTask);
        await rt.StartAsync();

        var pool = rt.Control.PausePool("missing-pool");
        var queue = await rt.Control.GetDeadLettersAsync("missing-queue");

        Assert.Equal(ControlStatus.NotFound, pool.Status);
        Assert.Contains("'missing-pool'", pool.Error, StringComparison.Ordinal);
        Assert.Equal(ControlStatus.NotFound, queue.Status);
        Assert.Equal("There is no queue named 'missing-queue'.", queue.Error);
    }

    [Fact]
    public async Task Topology_is_exposed_as_data_and_mermaid()
    {
        await using var rt = Create((_, _) => ValueTask.CompletedTask);

        var module = Assert.Single(rt.Control.Topology);
        var mermaid = rt.Control.TopologyMermaid;

        Assert.Equal("shop", module.Module);
        Assert.StartsWith("flowchart LR", mermaid, StringComparison.Ordinal);
        Assert.Contains("s_feed --> q_orders", mermaid, StringComparison.Ordinal);
        Assert.Contains("q_orders --> p_orders", mermaid, StringComparison.Ordinal);
        Assert.Contains("p_orders --> h_orders_OrderHandler", mermaid, StringComparison.Ordinal);
        await Task.CompletedTask;
    }
}
