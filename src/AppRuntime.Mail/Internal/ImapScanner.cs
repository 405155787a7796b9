using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace AppRuntime.Mail.Internal;

/// <summary>
/// The search-and-publish step both IMAP sources share: UID SEARCH for unseen messages that are not flagged failed, then for each
/// one that is neither in flight nor already settled: its size first (<c>RFC822.SIZE</c>), and only when it is within
/// <see cref="ImapOptions.MaxMessageSize"/> its body, which is parsed and published with its idempotency key as task id. Never
/// changes a message's flags except to flag a message that is too large or not MIME at all as failed.
/// </summary>
internal sealed class ImapScanner(ImapOptions options, InFlightTracker inFlight, ImapCompletion completion, ILogger logger)
{
    /// <summary>Messages fetched with one FETCH command (one round trip instead of one per message).</summary>
    private const int FetchBatchSize = 50;

    /// <summary>Bytes of message bodies fetched with one FETCH command (a batch holds at least one message).</summary>
    private const long FetchBatchBytes = 16L * 1024 * 1024;

    public async Task<int> PublishUnseenAsync(ImapSession session, ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        inFlight.Prune();

        // NOOP first: Dovecot evaluates SEARCH against the session's last synced view.
        await session.Client.NoOpAsync(cancellationToken).ConfigureAwait(false);
        var query = SearchQuery.NotSeen.And(SearchQuery.NotKeyword(options.FailedKeyword));
        var uids = await session.Folder.SearchAsync(query, cancellationToken).ConfigureAwait(false);
        var uidValidity = session.UidValidity;
        inFlight.ForgetSettledElsewhere(uids.Select(u => ImapMessage.CreateIdempotencyKey(uidValidity, u.Id)).ToHashSet(StringComparer.Ordinal));
        await ReleaseSettledButUnflaggedAsync(context, cancellationToken).ConfigureAwait(false);
        var claimed = new List<UniqueId>();
        foreach (var uid in uids.OrderBy(u => u.Id))
        {
            if (inFlight.TryBegin(ImapMessage.CreateIdempotencyKey(uidValidity, uid.Id)))
                claimed.Add(uid);
        }

        var published = 0;
        var done = 0;
        try
        {
            var sizes = claimed.Count == 0 ? [] : await SizesAsync(session, claimed, cancellationToken).ConfigureAwait(false);
            while (done < claimed.Count)
            {
                var batch = NextBatch(claimed, done, sizes);
                var fetched = await FetchAsync(session, batch.Where(u => sizes.GetValueOrDefault(u.Id) <= options.MaxMessageSize).ToList(),
                    cancellationToken).ConfigureAwait(false);
                foreach (var uid in batch)
                {
                    var key = ImapMessage.CreateIdempotencyKey(uidValidity, uid.Id);
                    if (!sizes.TryGetValue(uid.Id, out var size))
                    {
                        inFlight.Abandon(key); // expunged between the search and the fetch
                    }
                    else if (size > options.MaxMessageSize)
                    {
                        // Never fetched: flag it and leave it unread, so it is not looked at again.
                        Log.TooLarge(logger, key, size, options.MaxMessageSize, options.FailedKeyword);
                        context.RecordEvent("message_too_large");
                        await completion.CompleteAsync(new FlagTarget(key, uidValidity, uid.Id, null, OutcomeFlag.Failed), cancellationToken)
                            .ConfigureAwait(false);
                    }
                    else if (!fetched.TryGetValue(uid.Id, out var result))
                    {
                        inFlight.Abandon(key); // expunged between the size and the body
                    }
                    else if (result.Message is null)
                    {
                        // Not a MIME message at all: it would fail the same way on every search, so flag it and leave it unread.
                        Log.Unreadable(logger, result.Error!, key, options.FailedKeyword);
                        context.RecordEvent("message_unreadable");
                        await completion.CompleteAsync(new FlagTarget(key, uidValidity, uid.Id, null, OutcomeFlag.Failed), cancellationToken)
                            .ConfigureAwait(false);
                    }
                    else
                    {
                        var task = ImapMessage.FromMime(result.Message, session.Folder.FullName, uidValidity, uid.Id);
                        await context.PublishAsync(task, new TaskPublishOptions { Id = key }, cancellationToken).ConfigureAwait(false);
                        Log.Published(logger, key, task.MessageId);
                        published++;
                    }

                    done++;
                }
            }
        }
        catch
        {
            // Give back every claim this search did not complete, so the next search can try them again.
            for (var i = done; i < claimed.Count; i++)
                inFlight.Abandon(ImapMessage.CreateIdempotencyKey(uidValidity, claimed[i].Id));
            throw;
        }

        Log.Searched(logger, session.Folder.FullName, uids.Count, published);
        return published;
    }

    /// <summary>
    /// Messages still unread <see cref="ImapOptions.PendingCheckAfter"/> after this source published them, whose task the queue no
    /// longer holds at two checks in a row (a check interval apart, so a worker between its ack and its flag STORE is not
    /// mistaken for a lost flag): another instance handled them and its flag STORE did not reach the server, which only that
    /// instance could repair. Their claims are given up, once per message, so this search publishes them again: the handler
    /// recognises the message (it must be idempotent) and its outcome stores the flag. Without this they would wait for
    /// <see cref="ImapOptions.InFlightTimeout"/>. A dead-lettered task is not pending either, but its record stays in the queue,
    /// which refuses the new publish of its id: such a message stays in flight until then (its dead letter is listed).
    /// A lookup that fails (the queue's backend away) ends this round; the next interval asks again. A context that cannot
    /// look tasks up turns the check off.
    /// </summary>
    private async Task ReleaseSettledButUnflaggedAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        if (_pendingLookupUnsupported)
            return;
        var due = inFlight.DueForPendingCheck(options.PendingCheckAfter, MaxPendingChecks);
        if (due.Count == 0)
            return;
        bool[] pending;
        try
        {
            pending = await context.AreUnsettledAsync(due, cancellationToken).ConfigureAwait(false); // one batch, not one call per message
        }
        catch (NotSupportedException)
        {
            _pendingLookupUnsupported = true;
            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.PendingCheckFailed(logger, due.Count, ex.GetType().Name, ex.Message);
            return;
        }
        for (var i = 0; i < due.Count; i++)
        {
            var key = due[i];
            if (pending[i])
            {
                inFlight.Pending(key);
                continue;
            }
            if (!inFlight.NotPending(key))
                continue;
            Log.SettledButUnflagged(logger, key, options.PendingCheckAfter);
            context.RecordEvent("flag_repair_republished");
        }
    }

    private bool _pendingLookupUnsupported;

    /// <summary>Tasks looked up in the queue per <see cref="ImapOptions.PendingCheckAfter"/> (the oldest first).</summary>
    private const int MaxPendingChecks = 1000;

    /// <summary>The next messages to fetch together: up to <see cref="FetchBatchSize"/> of them and <see cref="FetchBatchBytes"/> of bodies.</summary>
    private List<UniqueId> NextBatch(List<UniqueId> claimed, int start, Dictionary<uint, long> sizes)
    {
        var batch = new List<UniqueId>();
        long bytes = 0;
        for (var i = start; i < claimed.Count && batch.Count < FetchBatchSize; i++)
        {
            var size = sizes.GetValueOrDefault(claimed[i].Id);
            var body = size <= options.MaxMessageSize ? size : 0;
            if (batch.Count > 0 && bytes + body > FetchBatchBytes)
                break;
            bytes += body;
            batch.Add(claimed[i]);
        }

        return batch;
    }

    /// <summary>The size (<c>RFC822.SIZE</c>) of each message; expunged messages are missing from the result.</summary>
    private static async Task<Dictionary<uint, long>> SizesAsync(ImapSession session, List<UniqueId> uids, CancellationToken cancellationToken)
    {
        var summaries = await session.Folder.FetchAsync(uids, MessageSummaryItems.UniqueId | MessageSummaryItems.Size, cancellationToken).ConfigureAwait(false);
        var sizes = new Dictionary<uint, long>(summaries.Count);
        foreach (var summary in summaries)
            sizes[summary.UniqueId.Id] = summary.Size ?? 0;
        return sizes;
    }

    /// <summary>Fetches and parses the messages of <paramref name="uids"/>; expunged messages are missing from the result.</summary>
    private static async Task<Dictionary<uint, (MimeMessage? Message, Exception? Error)>> FetchAsync(ImapSession session, List<UniqueId> uids,
        CancellationToken cancellationToken)
    {
        var results = new Dictionary<uint, (MimeMessage?, Exception?)>();
        if (uids.Count == 0)
            return results;
        if (session.Folder is IImapFolder imapFolder)
        {
            await imapFolder.GetStreamsAsync(uids, async (_, _, uid, stream, token) =>
            {
                try
                {
                    results[uid.Id] = (await MimeMessage.LoadAsync(stream, token).ConfigureAwait(false), null);
                }
                catch (Exception ex) when (ex is FormatException or ParseException)
                {
                    results[uid.Id] = (null, ex);
                }
            }, cancellationToken).ConfigureAwait(false);
            return results;
        }

        foreach (var uid in uids)
        {
            try
            {
                results[uid.Id] = (await session.Folder.GetMessageAsync(uid, cancellationToken).ConfigureAwait(false), null);
            }
            catch (MessageNotFoundException)
            {
                // Expunged.
            }
            catch (Exception ex) when (ex is FormatException or ParseException)
            {
                results[uid.Id] = (null, ex);
            }
        }

        return results;
    }
}
