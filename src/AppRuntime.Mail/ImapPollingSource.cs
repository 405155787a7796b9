using System.Globalization;
using AppRuntime.Mail.Internal;
using MailKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AppRuntime.Mail;

/// <summary>
/// Polls an IMAP folder: every <see cref="ImapOptions.PollInterval"/> it runs UID SEARCH for unseen messages (not flagged
/// <see cref="ImapOptions.FailedKeyword"/>) and publishes one <see cref="ImapMessage"/> per message, with its idempotency key as
/// task id. It never marks a message read by itself: as an <see cref="ITaskOutcomeObserver{T}"/> it adds <c>\Seen</c> once the
/// handler succeeded, and the failed keyword (leaving the message unread) when the task was dead-lettered. A message that is
/// published and not yet settled is not published again by later polls.
/// </summary>
public sealed class ImapPollingSource : PollingTaskSource<ImapMessage>, ITaskOutcomeObserver<ImapMessage>, IExclusiveTaskSource, IAsyncDisposable, IDisposable
{
    private readonly ImapSourceCore _core;
    private ImapSession? _session;
    private Task? _reconciler;
    private CancellationTokenSource? _stopReconciler;
    private string _name = nameof(ImapPollingSource);

    /// <summary>Creates the source.</summary>
    /// <param name="options">The IMAP settings; validated here.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="timeProvider">The clock for in-flight expiry; the system clock when null. Poll delays use the context's clock.</param>
    public ImapPollingSource(ImapOptions options, ILogger<ImapPollingSource>? logger = null, TimeProvider? timeProvider = null)
        : base(ToPollingOptions(options))
    {
        _core = new ImapSourceCore(options, (ILogger?)logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System);
    }

    /// <summary>True while the source holds an open IMAP connection.</summary>
    public bool IsConnected => _session?.IsUsable == true;

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

    /// <inheritdoc />
    protected override async ValueTask<int> PollAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        _name = context.SourceName;
        if (_reconciler is null)
        {
            // The reconciler lives as long as this run of the source: PollAsync gets the run's token.
            _stopReconciler = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _reconciler = _core.RunReconcilerAsync(context, _stopReconciler.Token);
        }

        try
        {
            if (_session is null || !_session.IsUsable)
            {
                await DropSessionAsync().ConfigureAwait(false);
                _session = await ImapSession.OpenAsync(_core.Options, FolderAccess.ReadOnly, cancellationToken).ConfigureAwait(false);
                Log.Connected(_core.Logger, _name, _core.Options.Host, _core.Options.Port, _core.Options.Security, _session.Folder.FullName,
                    _session.UidValidity, _session.SupportsIdle);
                if (_core.Options.IsInsecureRemote)
                    Log.InsecureConnection(_core.Logger, _name, _core.Options.Host, _core.Options.Port);
            }

            var published = await _core.Scanner.PublishUnseenAsync(_session, context, cancellationToken).ConfigureAwait(false);
            _core.RequestReconcile();
            var details = _core.Details();
            details["connected"] = "true";
            details["folder"] = _session.Folder.FullName;
            details["uidValidity"] = _session.UidValidity.ToString(CultureInfo.InvariantCulture);
            details["lastCheck"] = context.TimeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
            context.ReportDetails(details);
            return published;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The base class backs off and polls again; the next poll starts from a fresh connection.
            await DropSessionAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    protected override async ValueTask OnStoppedAsync()
    {
        if (_reconciler is { } reconciler)
        {
            await _stopReconciler!.CancelAsync().ConfigureAwait(false);
            await reconciler.ConfigureAwait(false);
            _stopReconciler.Dispose();
            (_reconciler, _stopReconciler) = (null, null);
        }

        await DropSessionAsync().ConfigureAwait(false);
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

    /// <summary>Closes the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await DropSessionAsync().ConfigureAwait(false);
        await _core.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the connections without logging out.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _session, null)?.Dispose();
        _core.Dispose();
    }

    private async ValueTask DropSessionAsync()
    {
        var session = Interlocked.Exchange(ref _session, null);
        if (session is not null)
            await session.DisposeAsync().ConfigureAwait(false);
    }

    private static PollingOptions ToPollingOptions(ImapOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new PollingOptions
        {
            Interval = options.PollInterval,
            ErrorBackoff = options.ReconnectBackoff,
            MaxErrorBackoff = options.MaxReconnectBackoff,
        };
    }
}
