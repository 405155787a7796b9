using System.Globalization;
using AppRuntime.Mail.Internal;
using MailKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AppRuntime.Mail;

/// <summary>
/// Watches an IMAP folder with IDLE and publishes the same <see cref="ImapMessage"/> tasks as <see cref="ImapPollingSource"/>.
/// On connect it catches up with a UID SEARCH for unseen messages, then waits in IDLE (re-issued every
/// <see cref="ImapOptions.IdleTimeout"/>, before the server would drop it); when the server reports new messages it searches again.
/// When the connection breaks it reconnects with exponential backoff and catches up, so nothing is missed. A server without IDLE
/// is polled every <see cref="ImapOptions.PollInterval"/>. Completion works as in <see cref="ImapPollingSource"/>.
/// </summary>
public sealed class ImapIdleSource : ITaskSource<ImapMessage>, ITaskOutcomeObserver<ImapMessage>, IExclusiveTaskSource, IAsyncDisposable, IDisposable
{
    private readonly ImapSourceCore _core;
    private long _searches;
    private long _idleWakeups;
    private long _reconnects;
    private volatile string _state = "created";

    /// <summary>Creates the source.</summary>
    /// <param name="options">The IMAP settings; validated here.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="timeProvider">The clock for in-flight expiry; the system clock when null. IDLE and backoff timing use the context's clock.</param>
    public ImapIdleSource(ImapOptions options, ILogger<ImapIdleSource>? logger = null, TimeProvider? timeProvider = null)
    {
        _core = new ImapSourceCore(options, (ILogger?)logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System);
    }

    /// <summary>The current state: <c>connecting</c>, <c>idle</c>, <c>searching</c>, <c>polling</c>, <c>reconnecting</c> or <c>stopped</c>.</summary>
    public string State => _state;

    /// <summary>Messages published and not yet settled.</summary>
    public int InFlightCount => _core.InFlight.Count;

    /// <summary>
    /// <c>imap://host:port/user/folder</c>: the source is exclusive per server, mailbox and folder. When several instances share a
    /// Redis queue, one of them reads the folder and the others stand by (<c>AppRuntime:Sources:&lt;name&gt;:Exclusive=false</c>
    /// turns it off).
    /// </summary>
    public string ExclusiveResource => _core.Options.ExclusiveResource;

    /// <summary>Settled messages whose flag the server has not shown yet (reconciliation stores them again).</summary>
    public int PendingFlags => _core.InFlight.Unconfirmed;

    /// <summary>Flags that reconciliation found missing on the server and stored again.</summary>
    public long ReconciledFlags => _core.Completion.Reconciled;

    /// <summary>UID searches made (the catch-up after each connect, one per wake-up from IDLE, one per poll without IDLE).</summary>
    public long Searches => Interlocked.Read(ref _searches);

    /// <summary>Times IDLE ended because the server reported a change in the folder.</summary>
    public long IdleWakeups => Interlocked.Read(ref _idleWakeups);

    /// <summary>Connections opened after a failure.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>For tests: behave as if the server lacked IDLE.</summary>
    internal bool IgnoreIdleCapability { get; init; }

    /// <inheritdoc />
    public async Task RunAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failures = 0;
        using var stopReconciler = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reconciler = _core.RunReconcilerAsync(context, stopReconciler.Token);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ImapSession? session = null;
                var signal = new MailboxSignal();
                try
                {
                    _state = "connecting";
                    session = await ImapSession.OpenAsync(_core.Options, FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
                    session.Folder.CountChanged += signal.OnCountChanged;
                    if (failures > 0)
                        Interlocked.Increment(ref _reconnects);
                    failures = 0;
                    var useIdle = session.SupportsIdle && !IgnoreIdleCapability;
                    Log.Connected(_core.Logger, context.SourceName, _core.Options.Host, _core.Options.Port, _core.Options.Security,
                        session.Folder.FullName, session.UidValidity, useIdle);
                    if (_core.Options.IsInsecureRemote)
                        Log.InsecureConnection(_core.Logger, context.SourceName, _core.Options.Host, _core.Options.Port);
                    if (!useIdle)
                        Log.IdleUnsupported(_core.Logger, context.SourceName, _core.Options.PollInterval);

                    await WatchAsync(session, signal, useIdle, context, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
#pragma warning disable CA1031 // Any failure of the connection or the server means: reconnect with backoff, never end the source.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    failures++;
                    var delay = _core.BackoffFor(failures);
                    _state = "reconnecting";
                    Log.Reconnecting(_core.Logger, ex, context.SourceName, delay, failures);
                    context.ReportError("reconnecting", ex);
                    if (session is not null)
                        session.Folder.CountChanged -= signal.OnCountChanged;
                    await DisposeQuietlyAsync(session).ConfigureAwait(false);
                    session = null;
                    await Task.Delay(delay, context.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    if (session is not null)
                    {
                        session.Folder.CountChanged -= signal.OnCountChanged;
                        await DisposeQuietlyAsync(session).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await stopReconciler.CancelAsync().ConfigureAwait(false);
            await reconciler.ConfigureAwait(false);
            _state = "stopped";
        }
    }

    private async Task WatchAsync(ImapSession session, MailboxSignal signal, bool useIdle, ITaskSourceContext<ImapMessage> context,
        CancellationToken cancellationToken)
    {
        var time = context.TimeProvider;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Catch up (after connect), or pick up what the server announced.
            signal.Reset();
            await context.WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
            _state = "searching";
            await _core.Scanner.PublishUnseenAsync(session, context, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _searches);
            context.ReportCaughtUp();
            _core.RequestReconcile();

            if (!useIdle)
            {
                _state = "polling";
                ReportHealthy(context, session, "polling");
                await Task.Delay(_core.Options.PollInterval, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            _state = "idle";
            ReportHealthy(context, session, "idle");
            while (true)
            {
                // An IDLE ends early when messages published long ago are due to be looked up in the queue (a search does it).
                var idleFor = _core.Options.IdleTimeout;
                var untilCheck = _core.InFlight.UntilPendingCheck(_core.Options.PendingCheckAfter);
                if (untilCheck is { } due && due < idleFor)
                    idleFor = due;
                if (idleFor <= TimeSpan.Zero)
                    break;
                using (var done = new CancellationTokenSource(idleFor, time))
                {
                    signal.Arm(done);
                    try
                    {
                        await session.Client.IdleAsync(done.Token, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        signal.Disarm();
                    }
                }

                if (signal.HasChanged || _core.InFlight.UntilPendingCheck(_core.Options.PendingCheckAfter) == TimeSpan.Zero)
                    break;

                // The IDLE timed out with no news: the connection is alive, so this is a successful check. Re-issue it.
                ReportHealthy(context, session, "idle");
            }

            // Counted as a wake-up only when the server reported a change (not when a pending check ended the IDLE).
            if (signal.HasChanged)
            {
                Interlocked.Increment(ref _idleWakeups);
                Log.IdleEnded(_core.Logger, context.SourceName, true);
            }
        }
    }

    private void ReportHealthy(ITaskSourceContext<ImapMessage> context, ImapSession session, string state)
    {
        var details = _core.Details();
        details["connected"] = "true";
        details["folder"] = session.Folder.FullName;
        details["uidValidity"] = session.UidValidity.ToString(CultureInfo.InvariantCulture);
        details["searches"] = Searches.ToString(CultureInfo.InvariantCulture);
        details["reconnects"] = Reconnects.ToString(CultureInfo.InvariantCulture);
        details["lastCheck"] = context.TimeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        context.ReportHealthy(state, details);
    }

    /// <summary>Marks the message <c>\Seen</c>.</summary>
    public ValueTask OnSucceededAsync(TaskEnvelope<ImapMessage> envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return _core.Completion.OnSucceededAsync(envelope.Payload, cancellationToken);
    }

    /// <summary>Leaves the message unread and adds <see cref="ImapOptions.FailedKeyword"/>.</summary>
    public ValueTask OnDeadLetteredAsync(TaskEnvelope<ImapMessage> envelope, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return _core.Completion.OnDeadLetteredAsync(envelope.Payload, reason, cancellationToken);
    }

    /// <summary>Closes the completion connection.</summary>
    public ValueTask DisposeAsync() => _core.DisposeAsync();

    /// <summary>Closes the completion connection without logging out.</summary>
    public void Dispose() => _core.Dispose();

    private static async ValueTask DisposeQuietlyAsync(ImapSession? session)
    {
        if (session is not null)
            await session.DisposeAsync().ConfigureAwait(false);
    }
}
