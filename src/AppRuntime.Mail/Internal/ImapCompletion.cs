using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Mail.Internal;

/// <summary>
/// Stores task outcomes on the server over its own read-write connection: <c>\Seen</c> after success, the failed keyword after a
/// dead letter. Thread-safe (one command at a time), connects lazily and reconnects once when the connection broke.
/// </summary>
internal sealed class ImapCompletion(ImapOptions options, InFlightTracker inFlight, ILogger logger) : IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImapSession? _session;
    private bool _disposed;

    public async ValueTask OnSucceededAsync(ImapMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var stored = false;
        try
        {
            await StoreAsync(message.IdempotencyKey, message.UidValidity, message.Uid, message.MessageId,
                new StoreFlagsRequest(StoreAction.Add, MessageFlags.Seen) { Silent = true }, "\\Seen", cancellationToken).ConfigureAwait(false);
            stored = true;
        }
        finally
        {
            inFlight.Settle(message.IdempotencyKey, stored);
        }
    }

    public async ValueTask OnDeadLetteredAsync(ImapMessage message, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var stored = false;
        try
        {
            await FlagFailedAsync(message.IdempotencyKey, message.UidValidity, message.Uid, message.MessageId, cancellationToken).ConfigureAwait(false);
            stored = true;
            Log.DeadLettered(logger, message.IdempotencyKey, reason, options.FailedKeyword);
        }
        finally
        {
            inFlight.Settle(message.IdempotencyKey, stored);
        }
    }

    public Task FlagFailedAsync(string key, uint uidValidity, uint uid, string? messageId, CancellationToken cancellationToken) =>
        StoreAsync(key, uidValidity, uid, messageId,
            new StoreFlagsRequest(StoreAction.Add, [options.FailedKeyword]) { Silent = true }, options.FailedKeyword, cancellationToken);

    private async Task StoreAsync(string key, uint uidValidity, uint uid, string? messageId, StoreFlagsRequest request, string flag,
        CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    if (_session is null || !_session.IsUsable)
                    {
                        await DropSessionAsync().ConfigureAwait(false);
                        _session = await ImapSession.OpenAsync(options, FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
                    }

                    var target = await ResolveAsync(_session, uidValidity, uid, messageId, cancellationToken).ConfigureAwait(false);
                    if (target is null)
                    {
                        Log.MessageGone(logger, key, messageId, options.Folder, flag);
                        return;
                    }

                    await _session.Folder.StoreAsync([target.Value], request, cancellationToken).ConfigureAwait(false);
                    Log.Flagged(logger, key, flag);
                    return;
                }
                catch (Exception ex) when (attempt == 1 && IsConnectionFailure(ex) && !cancellationToken.IsCancellationRequested)
                {
                    Log.CompletionRetry(logger, ex, flag, key);
                    await DropSessionAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (IsConnectionFailure(ex))
                {
                    await DropSessionAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The message's UID now: the same UID while UIDVALIDITY holds, else found again by its Message-ID.</summary>
    private static async Task<UniqueId?> ResolveAsync(ImapSession session, uint uidValidity, uint uid, string? messageId, CancellationToken cancellationToken)
    {
        if (uidValidity != 0 && session.UidValidity == uidValidity)
            return new UniqueId(uidValidity, uid);
        if (string.IsNullOrEmpty(messageId))
            return null;
        var found = await session.Folder.SearchAsync(SearchQuery.HeaderContains("Message-ID", messageId), cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    private static bool IsConnectionFailure(Exception ex) =>
        ex is IOException or System.Net.Sockets.SocketException or ImapProtocolException or ServiceNotConnectedException
            or ServiceNotAuthenticatedException or FolderNotOpenException or TimeoutException;

    private async Task DropSessionAsync()
    {
        var session = _session;
        _session = null;
        if (session is not null)
            await session.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        _disposed = true;
        Interlocked.Exchange(ref _session, null)?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            await DropSessionAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
