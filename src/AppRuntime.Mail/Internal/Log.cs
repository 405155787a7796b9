using Microsoft.Extensions.Logging;

namespace AppRuntime.Mail.Internal;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "IMAP source {Source} connected to {Host}:{Port} ({Security}), folder {Folder} (UIDVALIDITY {UidValidity}, IDLE {IdleSupported})")]
    public static partial void Connected(ILogger logger, string source, string host, int port, ImapSecurity security, string folder, uint uidValidity, bool idleSupported);

    [LoggerMessage(2, LogLevel.Warning, "IMAP source {Source} lost its connection or failed; reconnecting in {Delay} (failure {Failures})")]
    public static partial void Reconnecting(ILogger logger, Exception exception, string source, TimeSpan delay, int failures);

    [LoggerMessage(3, LogLevel.Debug, "IMAP search in {Folder} found {Found} unseen message(s), published {Published}")]
    public static partial void Searched(ILogger logger, string folder, int found, int published);

    [LoggerMessage(4, LogLevel.Debug, "Published IMAP message {IdempotencyKey} (Message-ID {MessageId})")]
    public static partial void Published(ILogger logger, string idempotencyKey, string? messageId);

    [LoggerMessage(5, LogLevel.Information, "IMAP server lacks IDLE; source {Source} polls every {Interval}")]
    public static partial void IdleUnsupported(ILogger logger, string source, TimeSpan interval);

    [LoggerMessage(6, LogLevel.Debug, "IMAP source {Source} woke from IDLE (new mail: {NewMail})")]
    public static partial void IdleEnded(ILogger logger, string source, bool newMail);

    [LoggerMessage(7, LogLevel.Debug, "Marked IMAP message {IdempotencyKey} as {Flag}")]
    public static partial void Flagged(ILogger logger, string idempotencyKey, string flag);

    [LoggerMessage(8, LogLevel.Warning, "IMAP message {IdempotencyKey} (Message-ID {MessageId}) is no longer in {Folder}; its outcome {Flag} was not stored")]
    public static partial void MessageGone(ILogger logger, string idempotencyKey, string? messageId, string folder, string flag);

    [LoggerMessage(9, LogLevel.Warning, "IMAP completion connection failed; reconnecting once")]
    public static partial void CompletionRetry(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Error, "IMAP message {IdempotencyKey} could not be read; flagged {Keyword} and left unread")]
    public static partial void Unreadable(ILogger logger, Exception exception, string idempotencyKey, string keyword);

    [LoggerMessage(11, LogLevel.Warning, "Task {IdempotencyKey} was dead-lettered ({Reason}); IMAP message left unread and flagged {Keyword}")]
    public static partial void DeadLettered(ILogger logger, string idempotencyKey, string reason, string keyword);

    [LoggerMessage(12, LogLevel.Warning, "Storing {Flag} on IMAP message {IdempotencyKey} failed")]
    public static partial void StoreFailed(ILogger logger, Exception exception, string flag, string idempotencyKey);

    [LoggerMessage(13, LogLevel.Warning, "The IMAP server did not show {Flag} on message {IdempotencyKey} (Message-ID {MessageId}) after storing it; reconciliation stores it again (every {Interval})")]
    public static partial void Unconfirmed(ILogger logger, string idempotencyKey, string? messageId, string flag, TimeSpan interval);

    [LoggerMessage(14, LogLevel.Warning, "Reconciliation found {Flag} missing on IMAP message {IdempotencyKey} (Message-ID {MessageId}) and stored it again")]
    public static partial void Reconciled(ILogger logger, string idempotencyKey, string? messageId, string flag);

    [LoggerMessage(15, LogLevel.Error, "IMAP message {IdempotencyKey} is {Size} bytes, over the limit of {Limit} (MaxMessageSize); not fetched, flagged {Keyword} and left unread")]
    public static partial void TooLarge(ILogger logger, string idempotencyKey, long size, long limit, string keyword);

    [LoggerMessage(17, LogLevel.Warning, "IMAP source {Source} talks to {Host}:{Port} in plain text (Security None, AllowInsecure): the password and every email cross the network unencrypted")]
    public static partial void InsecureConnection(ILogger logger, string source, string host, int port);

    [LoggerMessage(16, LogLevel.Warning, "IMAP source {Source}: reconciliation of stored outcomes failed; trying again in {Interval}")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception, string source, TimeSpan interval);

    [LoggerMessage(18, LogLevel.Warning, "IMAP message {Key} is still unread {After} after it was published, and the queue has not held its task at two checks (another instance settled it and its flag did not reach the server); publishing it again so that its outcome stores the flag")]
    public static partial void SettledButUnflagged(ILogger logger, string key, TimeSpan after);

    [LoggerMessage(19, LogLevel.Debug, "Could not ask the queue whether the tasks of {Count} IMAP message(s) are pending ({Error}: {Reason}); asking again at the next check")]
    public static partial void PendingCheckFailed(ILogger logger, int count, string error, string reason);
}
