using AppRuntime;
using Microsoft.Extensions.Logging;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;
using PaymentNotifier.Services;

namespace PaymentNotifier.Handlers;

/// <summary>
/// Sends a dunning notice, once per invoice and attempt, under its claim in the store (<see cref="ClaimedSend"/>): a redelivered
/// task whose notice was sent does nothing, and a second worker with the same notice waits while the first one's claim is younger
/// than <c>PaymentNotifier:Delivery:ClaimTimeout</c>. SMTP 4xx answers are retried with the pool's backoff; 5xx answers
/// dead-letter the notice with the server's reply (<see cref="SmtpMailSender"/>).
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
        var claimTimeout = settings.Delivery.ClaimTimeout;
        var claim = await store.ClaimNoticeAsync(task, messageId, claimTimeout, cancellationToken);
        var sent = await ClaimedSend.RunAsync(claim, $"Notice {task.NoticeId}", claimTimeout,
            () => sender.SendAsync(renderer.RenderNotice(task, messageId), cancellationToken),
            token => store.ReleaseNoticeClaimAsync(task.NoticeId, token, CancellationToken.None),
            () => store.MarkNoticeSentAsync(task.NoticeId, CancellationToken.None));
        if (!sent)
        {
            LogSentBefore(logger, task.NoticeId, messageId);
            return;
        }
        stats.NoticeSent();
        LogSent(logger, task.NoticeId, messageId, sender.Description);
    }

    [LoggerMessage(1, LogLevel.Information, "Notice {NoticeId} sent as <{MessageId}> ({Sender})")]
    private static partial void LogSent(ILogger logger, string noticeId, string messageId, string sender);

    [LoggerMessage(2, LogLevel.Information, "Notice {NoticeId} was sent before as <{MessageId}>: not sent again")]
    private static partial void LogSentBefore(ILogger logger, string noticeId, string messageId);
}
