using System.Globalization;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Mail.Internal;

/// <summary>What both IMAP sources share: settings, in-flight tracking, the search step, the completion connection and reconciliation.</summary>
internal sealed class ImapSourceCore : IAsyncDisposable, IDisposable
{
    private TaskCompletionSource _reconcileRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ImapSourceCore(ImapOptions options, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        Options = options;
        Logger = logger;
        InFlight = new InFlightTracker(time, options.InFlightTimeout, options.OutcomeRetention);
        Completion = new ImapCompletion(options, InFlight, logger);
        Scanner = new ImapScanner(options, InFlight, Completion, logger);
    }

    public ImapOptions Options { get; }

    public ILogger Logger { get; }

    public InFlightTracker InFlight { get; }

    public ImapCompletion Completion { get; }

    public ImapScanner Scanner { get; }

    public TimeSpan BackoffFor(int consecutiveFailures) => Backoff.Exponential(Options.ReconnectBackoff, Options.MaxReconnectBackoff, consecutiveFailures);

    /// <summary>Asks the reconciler to run now (after a search) instead of at its next interval.</summary>
    public void RequestReconcile() =>
        Interlocked.Exchange(ref _reconcileRequested, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>
    /// Reconciles stored outcomes every <see cref="ImapOptions.ReconcileInterval"/> and whenever <see cref="RequestReconcile"/>
    /// asks, until <paramref name="cancellationToken"/> fires. Failures are logged and tried again at the next turn.
    /// </summary>
    public async Task RunReconcilerAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        Completion.RecordEvent = context.RecordEvent;
        var time = context.TimeProvider;
        var requested = Volatile.Read(ref _reconcileRequested).Task;
        while (!cancellationToken.IsCancellationRequested)
        {
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var interval = Task.Delay(Options.ReconcileInterval, time, wait.Token);
                await Task.WhenAny(interval, requested).ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
            }

            if (cancellationToken.IsCancellationRequested)
                break;

            // A request made from here on completes this task, so it is not lost while the reconciliation below runs.
            requested = Volatile.Read(ref _reconcileRequested).Task;
            try
            {
                await Completion.ReconcileAsync(time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The server or the connection failed: try again at the next turn, never end the reconciler.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.ReconcileFailed(Logger, ex, context.SourceName, Options.ReconcileInterval);
            }

            context.ReportDetails(Details());
        }
    }

    /// <summary>The details both sources report: in flight, outcomes waiting for their flag, and what reconciliation did.</summary>
    public Dictionary<string, string> Details()
    {
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["inFlight"] = InFlight.Count.ToString(CultureInfo.InvariantCulture),
            ["flagsPending"] = InFlight.Unconfirmed.ToString(CultureInfo.InvariantCulture),
            ["flagsUnconfirmed"] = Completion.UnconfirmedStores.ToString(CultureInfo.InvariantCulture),
            ["flagsReconciled"] = Completion.Reconciled.ToString(CultureInfo.InvariantCulture),
        };
        if (Completion.LastReconciledAt is { } at)
            details["lastReconcile"] = at.ToString("O", CultureInfo.InvariantCulture);
        return details;
    }

    public ValueTask DisposeAsync() => Completion.DisposeAsync();

    public void Dispose() => Completion.Dispose();
}
