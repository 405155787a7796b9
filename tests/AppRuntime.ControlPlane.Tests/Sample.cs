using System.Collections.Concurrent;

namespace AppRuntime.ControlPlane.Tests;

public sealed record Order(int Number);

public sealed record Email(string To);

/// <summary>The small runtime the tests compose by hand: two sources, two queues, two pools, two handlers.</summary>
internal static class Sample
{
    /// <summary>A source that publishes nothing (deterministic endpoint tests publish themselves).</summary>
    public static void Compose(IAppRuntimeBuilder b) => Compose(b, new SampleBehaviour());

    public static void Compose(IAppRuntimeBuilder b, SampleBehaviour behaviour)
    {
        b.AddModule(new ModuleTopology("shop",
            [new SourceNode("order-feed", "orders", "OrderFeed"), new SourceNode("mail-poller", "emails", "MailPoller")],
            [new QueueNode("orders", "Order", 500), new QueueNode("emails", "Email", 200)],
            [new PoolNode("orders", 3, 2), new PoolNode("emails", 2, 3)],
            [new HandlerNode("orders", "OrderHandler"), new HandlerNode("emails", "EmailHandler")]));
        b.AddQueue<Order>(new QueueDefinition("orders", "Order") { Capacity = 500 });
        b.AddQueue<Email>(new QueueDefinition("emails", "Email") { Capacity = 200 });
        b.AddWorkerPool(new WorkerPoolDefinition("orders") { Workers = 3, MaxAttempts = 2, RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero });
        b.AddWorkerPool(new WorkerPoolDefinition("emails") { Workers = 2, MaxAttempts = 3 });
        b.AddHandler<Order>("orders", _ => new OrderHandler(behaviour));
        b.AddHandler<Email>("emails", _ => new EmailHandler(behaviour));
        b.AddSource<Order>(new SourceDefinition("order-feed", "orders"), _ => new TickSource<Order>(behaviour.OrderInterval, n => new Order(n)));
        b.AddSource<Email>(new SourceDefinition("mail-poller", "emails"), _ => new TickSource<Email>(behaviour.EmailInterval, n => new Email($"customer{n}@example.test")));
    }
}

/// <summary>What the sample does: how fast its sources publish and which orders fail for good.</summary>
internal sealed class SampleBehaviour
{
    /// <summary>Null: the source publishes nothing.</summary>
    public TimeSpan? OrderInterval { get; init; }

    public TimeSpan? EmailInterval { get; init; }

    /// <summary>Orders whose number is a multiple of this are dead-lettered (0: none).</summary>
    public int FailEvery { get; init; }

    public TimeSpan HandlerTime { get; init; }

    /// <summary>When set, order handlers wait for it (a task in hand that a test releases).</summary>
    public Task? Gate { get; init; }

    public ConcurrentBag<int> Handled { get; } = [];
}

internal sealed class OrderHandler(SampleBehaviour behaviour) : ITaskHandler<Order>
{
    public async ValueTask HandleAsync(Order task, TaskContext context, CancellationToken cancellationToken)
    {
        if (behaviour.Gate is { } gate)
            await gate.WaitAsync(cancellationToken);
        if (behaviour.HandlerTime > TimeSpan.Zero)
            await Task.Delay(behaviour.HandlerTime, cancellationToken);
        if (behaviour.FailEvery > 0 && task.Number % behaviour.FailEvery == 0)
            throw new PermanentTaskException($"order {task.Number} has no customer");
        behaviour.Handled.Add(task.Number);
    }
}

internal sealed class EmailHandler(SampleBehaviour behaviour) : ITaskHandler<Email>
{
    public async ValueTask HandleAsync(Email task, TaskContext context, CancellationToken cancellationToken)
    {
        if (behaviour.HandlerTime > TimeSpan.Zero)
            await Task.Delay(behaviour.HandlerTime, cancellationToken);
    }
}

/// <summary>Publishes one task per interval until stopped (the sample's stand-in for a polling source).</summary>
internal sealed class TickSource<T>(TimeSpan? interval, Func<int, T> create) : ITaskSource<T>
{
    public async Task RunAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken)
    {
        if (interval is not { } every)
        {
            context.ReportHealthy("idle");
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return;
        }
        var n = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            context.ReportHealthy("publishing");
            await context.PublishAsync(create(++n), null, cancellationToken);
            await Task.Delay(every, context.TimeProvider, cancellationToken);
        }
    }
}

/// <summary>A health contributor a test switches.</summary>
internal sealed class SwitchHealth(string name, HealthScope scope) : IHealthContributor
{
    public volatile HealthResult Result = HealthResult.Healthy();

    public string Name { get; } = name;

    public HealthScope Scope { get; } = scope;

    public ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Result);
}

/// <summary>A scheduled source for the sample: weekdays at 07:00 in Berlin, one order per occurrence.</summary>
internal sealed class NightlyOrders : IScheduledSource<Order>
{
    public static readonly ScheduledSourceDefinition Definition = new("nightly-orders", "orders", "0 7 * * MON-FRI") { TimeZone = "Europe/Berlin" };

    public Order Create(ScheduledOccurrence occurrence) => new(occurrence.Time.Day);
}
