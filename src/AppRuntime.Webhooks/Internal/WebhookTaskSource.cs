namespace AppRuntime.Internal;

/// <summary>
/// The runtime's side of a webhook source. A webhook source is pushed to, not polled: while <see cref="RunAsync"/> runs, the
/// endpoint publishes through its context, so requests that arrive before the runtime started the source, after it began stopping
/// it, or while an operator paused it are answered 503 with <c>Retry-After</c>. It reports the endpoint's counts as the source's
/// details once a second when they moved.
/// </summary>
internal sealed class WebhookTaskSource<TRequest, TTask>(WebhookEndpoint<TRequest, TTask> endpoint, IServiceProvider services) : ITaskSource<TTask>
{
    private static readonly TimeSpan s_detailsInterval = TimeSpan.FromSeconds(1);

    public async Task RunAsync(ITaskSourceContext<TTask> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        endpoint.Attach(context, services);
        var reported = endpoint.Version;
        context.ReportHealthy("listening", endpoint.Details());
        // Nothing to catch up with: a pushed source has looked at all its input as soon as it listens.
        context.ReportCaughtUp();
        try
        {
            while (true)
            {
                await Task.Delay(s_detailsInterval, context.TimeProvider, cancellationToken).ConfigureAwait(false);
                var version = endpoint.Version;
                if (version != reported)
                {
                    reported = version;
                    context.ReportDetails(endpoint.Details());
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await endpoint.DetachAsync(context).ConfigureAwait(false);
            context.ReportDetails(endpoint.Details());
        }
    }
}
