using AppRuntime;
using Microsoft.Extensions.Logging;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;
using PaymentNotifier.Services;

namespace PaymentNotifier.Handlers;

/// <summary>
/// Sends a dunning notice, once per invoice and attempt: the notice is claimed in the store before the send and marked sent after
/// it, so a redelivered task whose notice was sent does nothing, and a second worker with the same notice waits while the first
/// one's claim is younger than <c>PaymentNotifier:Delivery:ClaimTimeout</c>. A send that failed, or a process that died between the send and
/// the record, leaves the claim open and the next attempt sends again, with the same Message-ID. SMTP 4xx answers are retried
/// with the pool's backoff; 5xx answers dead-letter the notice with the server's reply (<see cref="SmtpMailSender"/>).
/// </summary>
[TaskHandler("notices")]
public sealed partial class NoticeHandler(PaymentStore store, IMailSender sender, MessageRenderer renderer, PaymentNotifierSettings settings, NotifierStats stats,
    ILogger<NoticeHandler> logger)
    : ITaskHandler<DunningNotice>
{
    /// <inheritdoc />
    public async ValueTask HandleAsync(DunningNotice task, TaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        var messageId = renderer.NoticeMessageId(task);
        switch (await store.ClaimNoticeAsync(task, messageId, settings.Delivery.ClaimTimeout, cancellationToken))
        {
            case ClaimState.AlreadySent:
                LogSentBefore(logger, task.NoticeId, messageId);
                return;
            case ClaimState.Busy:
                throw new RetryTaskException($"Notice {task.NoticeId} is being sent by another worker; trying again later.", settings.Delivery.ClaimTimeout);
        }
        try
        {
            await sender.SendAsync(renderer.RenderNotice(task, messageId), cancellationToken);
        }
        catch
        {
            // Not sent: the next attempt may send at once. (A process that dies here leaves the claim until ClaimTimeout.)
            await store.ReleaseNoticeClaimAsync(task.NoticeId, CancellationToken.None);
            throw;
        }
        await store.MarkNoticeSentAsync(task.NoticeId, cancellationToken);
        stats.NoticeSent();
        LogSent(logger, task.NoticeId, messageId, sender.Description);
    }

    [LoggerMessage(1, LogLevel.Information, "Notice {NoticeId} sent as <{MessageId}> ({Sender})")]
    private static partial void LogSent(ILogger logger, string noticeId, string messageId, string sender);

    [LoggerMessage(2, LogLevel.Information, "Notice {NoticeId} was sent before as <{MessageId}>: not sent again")]
    private static partial void LogSentBefore(ILogger logger, string noticeId, string messageId);
}
