using AppRuntime;

namespace Company.Service1.Sources;

/// <summary>
/// Fills the queue: a batch of <see cref="ServiceSettings.BatchSize"/> work items at start and every
/// <see cref="ServiceSettings.Interval"/>. Replace it with what starts your work (an IMAP mailbox, a webhook, a polling source
/// built on <see cref="PollingTaskSource{T}"/>).
/// </summary>
[TaskSource("work", Name = "timer")]
public sealed class TimerSource(ServiceSettings settings) : ITaskSource<WorkItem>
{
    /// <inheritdoc />
    public async Task RunAsync(ITaskSourceContext<WorkItem> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sequence = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await context.WaitUntilReadyAsync(cancellationToken);
                for (var i = 0; i < settings.BatchSize; i++)
                {
                    sequence++;
                    await context.PublishAsync(new WorkItem($"item-{sequence}", sequence, context.TimeProvider.GetUtcNow()), cancellationToken: cancellationToken);
                }
                context.ReportHealthy("waiting");
                context.ReportCaughtUp(); // this batch is out: with --once the service stops once it is handled
                await Task.Delay(settings.Interval, context.TimeProvider, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
