using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace AppRuntime.Mail.Internal;

/// <summary>
/// The search-and-publish step both IMAP sources share: UID SEARCH for unseen messages that are not flagged failed, fetch each one
/// that is not already in flight, publish it with its idempotency key as task id. Never changes a message's flags except to flag
/// an unreadable message failed.
/// </summary>
internal sealed class ImapScanner(ImapOptions options, InFlightTracker inFlight, ImapCompletion completion, ILogger logger)
{
    /// <summary>Messages fetched with one FETCH command (one round trip instead of one per message).</summary>
    private const int FetchBatchSize = 50;

    public async Task<int> PublishUnseenAsync(ImapSession session, ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        var searchStartedAt = inFlight.StartSearch();

        // NOOP first: Dovecot evaluates SEARCH against the session's view, which learns of flags stored by other connections
        // (our completion connection) only when it syncs. Not always enough on the IDLE session, so the tracker also
        // remembers confirmed outcomes (InFlightTracker).
        await session.Client.NoOpAsync(cancellationToken).ConfigureAwait(false);
        var query = SearchQuery.NotSeen.And(SearchQuery.NotKeyword(options.FailedKeyword));
        var uids = await session.Folder.SearchAsync(query, cancellationToken).ConfigureAwait(false);
        var uidValidity = session.UidValidity;
        var claimed = new List<UniqueId>();
        foreach (var uid in uids.OrderBy(u => u.Id))
        {
            if (inFlight.TryBegin(ImapMessage.CreateIdempotencyKey(uidValidity, uid.Id), searchStartedAt))
                claimed.Add(uid);
        }

        var published = 0;
        for (var offset = 0; offset < claimed.Count; offset += FetchBatchSize)
        {
            var batch = claimed.GetRange(offset, Math.Min(FetchBatchSize, claimed.Count - offset));
            var done = 0;
            try
            {
                var fetched = await FetchAsync(session, batch, cancellationToken).ConfigureAwait(false);
                foreach (var uid in batch)
                {
                    var key = ImapMessage.CreateIdempotencyKey(uidValidity, uid.Id);
                    if (!fetched.TryGetValue(uid.Id, out var result))
                    {
                        inFlight.Abandon(key); // expunged between the search and the fetch
                    }
                    else if (result.Message is null)
                    {
                        // Not a MIME message at all: it would fail the same way on every search, so flag it and leave it unread.
                        Log.Unreadable(logger, result.Error!, key, options.FailedKeyword);
                        await completion.FlagFailedAsync(key, uidValidity, uid.Id, null, cancellationToken).ConfigureAwait(false);
                        inFlight.Settle(key, stored: true);
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
            catch
            {
                // Give back every claim this search did not complete, so the next search can try them again.
                for (var i = offset + done; i < claimed.Count; i++)
                    inFlight.Abandon(ImapMessage.CreateIdempotencyKey(uidValidity, claimed[i].Id));
                throw;
            }
        }

        Log.Searched(logger, session.Folder.FullName, uids.Count, published);
        return published;
    }

    /// <summary>Fetches and parses the messages of <paramref name="uids"/>; expunged messages are missing from the result.</summary>
    private static async Task<Dictionary<uint, (MimeMessage? Message, Exception? Error)>> FetchAsync(ImapSession session, IList<UniqueId> uids,
        CancellationToken cancellationToken)
    {
        var results = new Dictionary<uint, (MimeMessage?, Exception?)>();
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
