using AppRuntime;

namespace AppRuntime.Testing.Tests;

public sealed record Order(string Id, int Quantity);

public sealed record Shipment(string OrderId, int Quantity);

/// <summary>Orders come from a timer source (every <c>Shop:Interval</c>) or a test; each accepted order is passed on as a shipment.</summary>
[ApplicationModule("shop")]
[TaskQueue<Order>("orders", Backend = "Redis")]
[WorkerPool("orders", Workers = 2, MaxAttempts = 3, RetryDelayMilliseconds = 1000)]
[TaskQueue<Shipment>("shipments")]
[WorkerPool("shipments")]
public static partial class ShopModule;

[ConfigSection("Shop")]
public sealed partial class ShopSettings
{
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    public int MaxQuantity { get; set; } = 10;
}

/// <summary>A stock service a test replaces with a fake.</summary>
public interface IStock
{
    bool TryReserve(string orderId, int quantity);
}

[Service(As = typeof(IStock))]
public sealed class UnlimitedStock : IStock
{
    public bool TryReserve(string orderId, int quantity) => true;
}

[TaskHandler("orders")]
public sealed class OrderHandler(IStock stock, ShopSettings settings, ITaskPublisher<Shipment> shipments) : ITaskHandler<Order>
{
    public async ValueTask HandleAsync(Order task, TaskContext context, CancellationToken cancellationToken)
    {
        if (task.Quantity > settings.MaxQuantity)
            throw new PermanentTaskException($"quantity {task.Quantity} is over {settings.MaxQuantity}");
        if (!stock.TryReserve(task.Id, task.Quantity))
            throw new InvalidOperationException("stock service unavailable");
        await shipments.PublishAsync(new Shipment(task.Id, task.Quantity), cancellationToken: cancellationToken);
    }
}

[TaskHandler("shipments")]
public sealed class ShipmentHandler : ITaskHandler<Shipment>
{
    public ValueTask HandleAsync(Shipment task, TaskContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// One order per interval, the first at start. The tick count is kept in a checkpoint (a restarted ticker would go on counting),
/// and a tick whose predecessor is still unsettled is counted as a source event: both go through the harness's source context.
/// </summary>
[TaskSource("orders", Name = "ticker")]
public sealed class TickerSource(ShopSettings settings) : ITaskSource<Order>
{
    public async Task RunAsync(ITaskSourceContext<Order> context, CancellationToken cancellationToken)
    {
        var saved = await context.GetCheckpointAsync("tick", cancellationToken);
        var tick = saved is null ? 0 : int.Parse(saved, System.Globalization.CultureInfo.InvariantCulture);
        string? previous = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (previous is not null && await context.IsUnsettledAsync(previous, cancellationToken))
                context.RecordEvent("previous_tick_unsettled");
            previous = await context.PublishAsync(new Order($"tick-{++tick}", 1), new TaskPublishOptions { Id = $"tick-{tick}" }, cancellationToken);
            if (!await context.TrySetCheckpointAsync("tick", saved, tick.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken))
                throw new InvalidOperationException("the tick checkpoint was changed by someone else");
            saved = tick.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.ReportCaughtUp();
            await Task.Delay(settings.Interval, context.TimeProvider, cancellationToken);
        }
    }
}
