using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Mail.Internal;

/// <summary>
/// Stores task outcomes on the server over its own read-write connection (<c>\Seen</c> after success, the failed keyword after a
/// dead letter) and counts an outcome as stored only once the server has shown the flag:
/// <list type="number">
/// <item>a non-silent <c>UID STORE</c>, whose untagged FETCH answers carry the new flags;</item>
/// <item>for every UID the answer did not show flagged: a NOOP (so the session learns of messages appended since it last
/// synced; a server may silently ignore a STORE of a UID the session does not know yet), then the STORE again;</item>
/// <item>for what is still not shown: a <c>UID FETCH (FLAGS)</c>, which tells a message that is gone from one that is there
/// without its flag (unconfirmed: reported, and stored again by <see cref="ReconcileAsync"/>).</item>
/// </list>
/// Concurrent requests are stored together: whoever holds the connection stores every request waiting at that moment with one
/// STORE per flag. Connects lazily and reconnects once when the connection broke.
/// </summary>
internal sealed class ImapCompletion(ImapOptions options, InFlightTracker tracker, ILogger logger) : IAsyncDisposable, IDisposable
{
    private static readonly OutcomeFlag[] s_flags = [OutcomeFlag.Seen, OutcomeFlag.Failed];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<Request> _waiting = [];
    private ImapSession? _session;
    private bool _disposed;
    private long _unconfirmed;
    private long _reconciled;

    /// <summary>Counts source events (<c>flag_unconfirmed</c>, <c>flag_reconciled</c>) once the source runs.</summary>
    public Action<string>? RecordEvent { get; set; }

    /// <summary>Stores that ended without the server showing the flag.</summary>
    public long UnconfirmedStores => Interlocked.Read(ref _unconfirmed);

    /// <summary>Flags that reconciliation found missing on the server and stored again.</summary>
    public long Reconciled => Interlocked.Read(ref _reconciled);

    /// <summary>When reconciliation last completed.</summary>
    public DateTimeOffset? LastReconciledAt { get; private set; }

    public ValueTask OnSucceededAsync(ImapMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return CompleteAsync(new FlagTarget(message.IdempotencyKey, message.UidValidity, message.Uid, message.MessageId, OutcomeFlag.Seen), cancellationToken);
    }

    public ValueTask OnDeadLetteredAsync(ImapMessage message, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Log.DeadLettered(logger, message.IdempotencyKey, reason, options.FailedKeyword);
        return CompleteAsync(new FlagTarget(message.IdempotencyKey, message.UidValidity, message.Uid, message.MessageId, OutcomeFlag.Failed), cancellationToken);
    }

    /// <summary>Stores the flag of <paramref name="target"/>, records the outcome and reports a flag the server did not show.</summary>
    public async ValueTask CompleteAsync(FlagTarget target, CancellationToken cancellationToken)
    {
        var result = StoreResult.Unconfirmed;
        try
        {
            result = await StoreAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.StoreFailed(logger, ex, FlagName(target.Flag), target.Key);
        }
        finally
        {
            tracker.Settle(target, result);
        }

        Report(target, result, reconciling: false);
    }

    /// <summary>
    /// Looks for recorded outcomes whose flag is missing on the server (a STORE the server ignored, a connection that broke, or a
    /// user who removed it) and stores those flags again. Returns how many it restored.
    /// </summary>
    public async Task<int> ReconcileAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        var outcomes = tracker.SnapshotOutcomes();
        if (outcomes.Count == 0)
        {
            LastReconciledAt = time.GetUtcNow();
            return 0;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var (missing, results) = await WithSessionAsync(async (session, token) =>
            {
                await session.Client.NoOpAsync(token).ConfigureAwait(false);
                var stale = outcomes.Where(o => o.UidValidity != session.UidValidity).ToList();
                if (stale.Count > 0)
                    tracker.Forget(stale); // UIDs of another UIDVALIDITY: a search publishes those messages again under new keys
                var current = outcomes.Where(o => o.UidValidity == session.UidValidity).ToList();
                var missing = new List<FlagTarget>();
                foreach (var flag in s_flags)
                {
                    var group = current.Where(o => o.Flag == flag).ToList();
                    if (group.Count == 0)
                        continue;
                    var lacking = flag == OutcomeFlag.Seen ? SearchQuery.NotSeen : SearchQuery.NotKeyword(options.FailedKeyword);
                    var found = await session.Folder.SearchAsync(SearchQuery.Uids(group.Select(o => new UniqueId(o.UidValidity, o.Uid)).ToList()).And(lacking),
                        token).ConfigureAwait(false);
                    var lackingUids = found.Select(u => u.Id).ToHashSet();
                    foreach (var target in group)
                    {
                        if (lackingUids.Contains(target.Uid))
                            missing.Add(target);
                        else
                            tracker.Update(target, StoreResult.Confirmed); // the flag is there (a late server, or confirmed before)
                    }
                }

                var results = missing.Count == 0 ? [] : await StoreConfirmedAsync(session, missing, token).ConfigureAwait(false);
                return (missing, results);
            }, cancellationToken).ConfigureAwait(false);

            var restored = 0;
            foreach (var target in missing)
            {
                var result = results[target];
                tracker.Update(target, result);
                Report(target, result, reconciling: true);
                if (result == StoreResult.Confirmed)
                    restored++;
            }

            LastReconciledAt = time.GetUtcNow();
            return restored;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Report(FlagTarget target, StoreResult result, bool reconciling)
    {
        var flag = FlagName(target.Flag);
        switch (result)
        {
            case StoreResult.Confirmed when reconciling:
                Interlocked.Increment(ref _reconciled);
                RecordEvent?.Invoke("flag_reconciled");
                Log.Reconciled(logger, target.Key, target.MessageId, flag);
                break;
            case StoreResult.Confirmed:
                Log.Flagged(logger, target.Key, flag);
                break;
            case StoreResult.Gone:
                Log.MessageGone(logger, target.Key, target.MessageId, options.Folder, flag);
                break;
            default:
                Interlocked.Increment(ref _unconfirmed);
                RecordEvent?.Invoke("flag_unconfirmed");
                Log.Unconfirmed(logger, target.Key, target.MessageId, flag, options.ReconcileInterval);
                break;
        }
    }

    /// <summary>Stores one flag together with whatever other requests are waiting for the connection.</summary>
    private async Task<StoreResult> StoreAsync(FlagTarget target, CancellationToken cancellationToken)
    {
        var request = new Request(target);
        lock (_waiting)
            _waiting.Add(request);
        try
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_waiting)
                _waiting.Remove(request);
            throw;
        }

        try
        {
            if (!request.Result.Task.IsCompleted)
            {
                List<Request> batch;
                lock (_waiting)
                {
                    batch = [.. _waiting];
                    _waiting.Clear();
                }

                try
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    var targets = batch.Select(r => r.Target).ToList();
                    var results = await WithSessionAsync((session, token) => StoreConfirmedAsync(session, targets, token), cancellationToken)
                        .ConfigureAwait(false);
                    foreach (var r in batch)
                        r.Result.TrySetResult(results[r.Target]);
                }
                catch (Exception ex)
                {
                    foreach (var r in batch)
                        r.Result.TrySetException(ex);
                }
            }
        }
        finally
        {
            _gate.Release();
        }

        return await request.Result.Task.ConfigureAwait(false);
    }

    /// <summary>Runs <paramref name="operation"/> on the connection, opening it when needed and once more when it broke.</summary>
    private async Task<TResult> WithSessionAsync<TResult>(Func<ImapSession, CancellationToken, Task<TResult>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (_session is null || !_session.IsUsable)
                {
                    await DropSessionAsync().ConfigureAwait(false);
                    _session = await ImapSession.OpenAsync(options, FolderAccess.ReadWrite, cancellationToken).ConfigureAwait(false);
                }

                return await operation(_session, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt == 1 && IsConnectionFailure(ex) && !cancellationToken.IsCancellationRequested)
            {
                Log.CompletionRetry(logger, ex);
                await DropSessionAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionFailure(ex))
            {
                await DropSessionAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Stores each target's flag and returns what the server showed for each (see the class summary).</summary>
    private async Task<Dictionary<FlagTarget, StoreResult>> StoreConfirmedAsync(ImapSession session, List<FlagTarget> targets,
        CancellationToken cancellationToken)
    {
        var results = new Dictionary<FlagTarget, StoreResult>();
        var byUid = new Dictionary<uint, List<FlagTarget>>();
        foreach (var target in targets)
        {
            var uid = await ResolveAsync(session, target, cancellationToken).ConfigureAwait(false);
            if (uid is null)
                results[target] = StoreResult.Gone;
            else
                (byUid.TryGetValue(uid.Value.Id, out var list) ? list : byUid[uid.Value.Id] = []).Add(target);
        }

        foreach (var flag in s_flags)
        {
            var uids = byUid.Where(p => p.Value.Any(t => t.Flag == flag)).Select(p => new UniqueId(session.UidValidity, p.Key)).ToList();
            if (uids.Count == 0)
                continue;
            var shown = await StoreShownAsync(session, uids, flag, cancellationToken).ConfigureAwait(false);
            var pending = uids.Where(u => !shown.Contains(u.Id)).ToList();
            if (pending.Count > 0)
            {
                // Not shown: the session may not know these UIDs yet. Sync it, then store again.
                await session.Client.NoOpAsync(cancellationToken).ConfigureAwait(false);
                shown.UnionWith(await StoreShownAsync(session, pending, flag, cancellationToken).ConfigureAwait(false));
                pending = pending.Where(u => !shown.Contains(u.Id)).ToList();
            }

            var gone = new HashSet<uint>();
            if (pending.Count > 0)
            {
                // Still not shown: ask for the flags. A UID missing from the answer is a message that no longer exists.
                var summaries = await session.Folder.FetchAsync(pending, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags, cancellationToken)
                    .ConfigureAwait(false);
                var present = summaries.ToDictionary(s => s.UniqueId.Id);
                foreach (var uid in pending)
                {
                    if (!present.TryGetValue(uid.Id, out var summary))
                        gone.Add(uid.Id);
                    else if (HasFlag(summary.Flags ?? MessageFlags.None, summary.Keywords, flag))
                        shown.Add(uid.Id);
                }
            }

            foreach (var uid in uids)
            {
                foreach (var target in byUid[uid.Id].Where(t => t.Flag == flag))
                    results[target] = shown.Contains(uid.Id) ? StoreResult.Confirmed : gone.Contains(uid.Id) ? StoreResult.Gone : StoreResult.Unconfirmed;
            }
        }

        return results;
    }

    /// <summary>One non-silent UID STORE; returns the UIDs whose untagged FETCH answer showed the flag.</summary>
    private async Task<HashSet<uint>> StoreShownAsync(ImapSession session, List<UniqueId> uids, OutcomeFlag flag, CancellationToken cancellationToken)
    {
        var shown = new HashSet<uint>();
        void OnChanged(object? sender, MessageFlagsChangedEventArgs e)
        {
            if (e.UniqueId is { } uid && HasFlag(e.Flags, e.Keywords, flag))
                shown.Add(uid.Id);
        }

        var request = flag == OutcomeFlag.Seen
            ? new StoreFlagsRequest(StoreAction.Add, MessageFlags.Seen) { Silent = false }
            : new StoreFlagsRequest(StoreAction.Add, [options.FailedKeyword]) { Silent = false };
        session.Folder.MessageFlagsChanged += OnChanged;
        try
        {
            await session.Folder.StoreAsync(uids, request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            session.Folder.MessageFlagsChanged -= OnChanged;
        }

        return shown;
    }

    private bool HasFlag(MessageFlags flags, IReadOnlySet<string>? keywords, OutcomeFlag flag) => flag == OutcomeFlag.Seen
        ? flags.HasFlag(MessageFlags.Seen)
        : keywords is not null && keywords.Contains(options.FailedKeyword);

    /// <summary>The message's UID now: the same UID while UIDVALIDITY holds, else found again by its Message-ID.</summary>
    private static async Task<UniqueId?> ResolveAsync(ImapSession session, FlagTarget target, CancellationToken cancellationToken)
    {
        if (target.UidValidity != 0 && session.UidValidity == target.UidValidity)
            return new UniqueId(target.UidValidity, target.Uid);
        if (string.IsNullOrEmpty(target.MessageId))
            return null;
        var found = await session.Folder.SearchAsync(SearchQuery.HeaderContains("Message-ID", target.MessageId), cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    private string FlagName(OutcomeFlag flag) => flag == OutcomeFlag.Seen ? "\\Seen" : options.FailedKeyword;

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

    private sealed class Request(FlagTarget target)
    {
        public FlagTarget Target { get; } = target;

        public TaskCompletionSource<StoreResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
