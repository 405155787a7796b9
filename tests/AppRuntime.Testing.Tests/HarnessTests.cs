using AppRuntime;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Testing.Tests;

public sealed class HarnessTests
{
    private sealed class FlakyStock(int failures) : IStock
    {
        private int _calls;

        public bool TryReserve(string orderId, int quantity) => Interlocked.Increment(ref _calls) > failures;
    }

    private static Task<AppRuntimeHarness> StartAsync(Action<AppRuntimeHarnessOptions>? configure = null) =>
        AppRuntimeHarness.StartAsync(runtime => runtime.AddShopModule(), configure);

    [Fact]
    public async Task A_published_task_is_handled_and_what_its_handler_passes_on_is_handled_too()
    {
        await using var app = await StartAsync(o => o.RunSources = false);

        await app.PublishAsync(new Order("o-1", 2));
        await app.RunUntilIdleAsync();

        Assert.Equal([new Order("o-1", 2)], app.Handled<Order>("orders"));
        Assert.Equal([new Shipment("o-1", 2)], app.Published<Shipment>("shipments"));
        Assert.Equal([new Shipment("o-1", 2)], app.Handled<Shipment>("shipments"));
    }

    [Fact]
    public async Task A_failing_task_is_retried_when_the_clock_reaches_its_backoff_and_then_handled()
    {
        await using var app = await StartAsync(o =>
        {
            o.RunSources = false;
            o.ConfigureServices = services => services.AddSingleton<IStock>(new FlakyStock(failures: 1));
        });

        await app.PublishAsync(new Order("o-1", 1));
        await app.RunUntilIdleAsync();

        var retry = Assert.Single(app.Retried<Order>("orders"));
        Assert.Equal(1, retry.Attempt);
        Assert.Contains("stock service unavailable", retry.Error, StringComparison.Ordinal);
        Assert.Empty(app.Handled<Order>("orders")); // waiting for its backoff (1 s) on the fake clock

        await app.AdvanceTimeAsync(TimeSpan.FromSeconds(1));

        Assert.Equal([new Order("o-1", 1)], app.Handled<Order>("orders"));
    }

    [Fact]
    public async Task Run_until_drained_moves_the_clock_through_every_retry_until_the_task_is_dead_lettered()
    {
        await using var app = await StartAsync(o =>
        {
            o.RunSources = false;
            o.ConfigureServices = services => services.AddSingleton<IStock>(new FlakyStock(failures: int.MaxValue));
        });
        var start = app.Time.GetUtcNow();

        await app.PublishAsync(new Order("o-1", 1));
        await app.RunUntilDrainedAsync();

        Assert.Equal([1, 2], app.Retried<Order>("orders").Select(r => r.Attempt));
        var dead = Assert.Single(app.DeadLettered<Order>("orders"));
        Assert.Equal(3, dead.Attempt);
        Assert.Equal(TimeSpan.FromSeconds(3), app.Time.GetUtcNow() - start); // backoff 1 s, then 2 s
    }

    [Fact]
    public async Task A_permanent_failure_is_dead_lettered_at_once_with_its_reason()
    {
        await using var app = await StartAsync(o => o.RunSources = false);

        await app.PublishAsync(new Order("big", 11));
        await app.RunUntilIdleAsync();

        var dead = Assert.Single(app.DeadLettered<Order>("orders"));
        Assert.Equal((1, true), (dead.Attempt, dead.Error!.Contains("quantity 11 is over 10", StringComparison.Ordinal)));
        Assert.Empty(app.Retried<Order>("orders"));
    }

    [Fact]
    public async Task Configuration_values_reach_the_modules_sections()
    {
        await using var app = await StartAsync(o =>
        {
            o.RunSources = false;
            o.Configuration["Shop:MaxQuantity"] = "50";
        });

        await app.PublishAsync(new Order("big", 11));
        await app.RunUntilIdleAsync();

        Assert.Single(app.Handled<Order>("orders"));
    }

    [Fact]
    public async Task An_invalid_configuration_fails_the_start_with_the_runtimes_report()
    {
        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => StartAsync(o => o.Configuration["Shop:MaxQuantity"] = "lots"));

        Assert.Contains(error.Errors, e => e.KeyPath == "Shop:MaxQuantity");
    }

    [Fact]
    public async Task The_modules_source_runs_on_the_fake_clock_and_ticks_when_time_moves()
    {
        await using var app = await StartAsync(o => o.Configuration["Shop:Interval"] = "00:00:10");

        await app.RunUntilIdleAsync();
        Assert.Equal(["tick-1"], app.Handled<Order>("orders").Select(o => o.Id));

        await app.AdvanceTimeAsync(TimeSpan.FromSeconds(30), step: TimeSpan.FromSeconds(10));

        Assert.Equal(["tick-1", "tick-2", "tick-3", "tick-4"], app.Handled<Order>("orders").Select(o => o.Id));
        Assert.Equal(4, app.Handled<Shipment>("shipments").Count);
    }

    [Fact]
    public async Task A_queue_pinned_to_Redis_runs_in_memory_and_its_tasks_go_through_the_generated_serializer()
    {
        await using var app = await StartAsync(o => o.RunSources = false);

        var order = new Order("o-1", 1);
        await app.PublishAsync(order);
        await app.RunUntilIdleAsync();

        Assert.Equal("Redis", app.Runtime.Queues.Single(q => q.Name == "orders").Backend);
        var stored = Assert.Single(app.Published<Order>("orders"));
        Assert.Equal(order, stored);
        Assert.NotSame(order, stored); // what the serializer made of it, as Redis would store it
        Assert.Equal([order], app.Handled<Order>("orders"));
    }

    [Fact]
    public async Task A_harness_that_cannot_become_idle_says_what_is_still_busy()
    {
        await using var app = await StartAsync(o =>
        {
            o.RunSources = false;
            o.IdleTimeout = TimeSpan.FromMilliseconds(300);
        });
        var pool = app.Runtime.Supervisor.GetPool("orders");
        await pool.ScaleAsync(1);
        pool.Pause();
        // The worker takes the pause when it next looks: wait for it (a fixed deadline, no test-support package here).
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (pool.GetSnapshot().Workers is not [{ State: WorkerState.Paused }])
                await Task.Delay(10, deadline.Token);
        }

        await app.PublishAsync(new Order("o-1", 1));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => app.RunUntilIdleAsync());

        Assert.Contains("queue 'orders' has 1 task(s) ready", error.Message, StringComparison.Ordinal);
        Assert.Contains("pool 'orders': worker 1 Paused", error.Message, StringComparison.Ordinal); // and the state it was in
    }
}

public sealed class ContextTests
{
    [Fact]
    public async Task A_handler_runs_on_its_own_with_a_test_task_context()
    {
        var published = new List<Shipment>();
        var handler = new OrderHandler(new UnlimitedStock(), new ShopSettings(), new ListPublisher(published));

        await handler.HandleAsync(new Order("o-1", 3), TestTaskContext.Create("orders", attempt: 2), CancellationToken.None);

        Assert.Equal([new Shipment("o-1", 3)], published);
    }

    [Fact]
    public async Task A_source_runs_on_its_own_with_a_test_source_context_and_a_fake_clock()
    {
        var context = new TestSourceContext<Order>();
        await using (var run = context.Run(new TickerSource(new ShopSettings { Interval = TimeSpan.FromSeconds(5) })))
        {
            await context.WaitUntilCaughtUpAsync();
            context.FakeTime!.Advance(TimeSpan.FromSeconds(5));
            await context.WaitUntilCaughtUpAsync(times: 2);
        }

        Assert.Equal(["tick-1", "tick-2"], context.PublishedTasks.Select(o => o.Id));
        // Its checkpoint and its unsettled-task lookup work on the test context (nothing settles there, so tick-1 stays open).
        Assert.Equal("2", context.Checkpoints["tick"]);
        Assert.Equal(["previous_tick_unsettled"], context.Events);

        // A ticker started again on the same context goes on counting from its checkpoint.
        await using (var again = context.Run(new TickerSource(new ShopSettings { Interval = TimeSpan.FromSeconds(5) })))
            await context.WaitUntilCaughtUpAsync(times: 3);
        Assert.Equal("tick-3", context.PublishedTasks[^1].Id);
    }

    private sealed class ListPublisher(List<Shipment> published) : ITaskPublisher<Shipment>
    {
        public string QueueName => "shipments";

        public ValueTask<string> PublishAsync(Shipment task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
        {
            published.Add(task);
            return ValueTask.FromResult(task.OrderId);
        }
    }
}
