using AppRuntime;
using Microsoft.Extensions.Logging;
using PaymentNotifier.Domain;
using PaymentNotifier.Services;

namespace PaymentNotifier.Handlers;

/// <summary>
/// Records a payment event in the store, and for a failed payment of an invoice that is not paid, publishes one
/// <see cref="DunningNotice"/> to the <c>notices</c> queue. The publish is deduplicated by invoice and attempt (task id
/// <c>notice:&lt;invoice&gt;/&lt;attempt&gt;</c>, kept 7 days), so a redelivered event, or a second event id for the same failure,
/// queues no second notice; the notice handler's claim in the store guards the send as well.
/// </summary>
[TaskHandler("payment-events")]
public sealed partial class PaymentEventHandler(PaymentStore store, ITaskPublisher<DunningNotice> notices, MessageRenderer renderer, ILogger<PaymentEventHandler> logger)
    : ITaskHandler<PaymentEvent>
{
    /// <summary>How long a notice's id is remembered by the <c>notices</c> queue to refuse a second publish.</summary>
    public static readonly TimeSpan NoticeDeduplicationWindow = TimeSpan.FromDays(7);

    /// <inheritdoc />
    public async ValueTask HandleAsync(PaymentEvent task, TaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        var record = await store.RecordEventAsync(task, cancellationToken);
        LogRecorded(logger, task.EventId, task.Type, task.InvoiceId ?? task.CustomerId, record.IsNew);
        if (task.Type != PaymentEventTypes.InvoicePaymentFailed || task.InvoiceId is null)
            return;
        if (record.InvoicePaid)
        {
            LogPaidAlready(logger, task.InvoiceId, task.Attempt);
            return;
        }
        var notice = new DunningNotice(task.InvoiceId, task.Attempt, task.CustomerName ?? "customer", task.CustomerEmail!, task.AmountDue,
            task.Currency ?? "", renderer.RetryLink(task.InvoiceId, task.Attempt), task.FailureReason);
        var result = await notices.TryPublishAsync(notice,
            new TaskPublishOptions { Id = "notice:" + notice.NoticeId, DeduplicationWindow = NoticeDeduplicationWindow }, cancellationToken);
        if (result.Published)
            LogNoticeQueued(logger, notice.NoticeId, result.TaskId);
    }

    [LoggerMessage(1, LogLevel.Debug, "Event {EventId} ({Type}, {Subject}) recorded; new attempt: {IsNew}")]
    private static partial void LogRecorded(ILogger logger, string eventId, string type, string subject, bool isNew);

    [LoggerMessage(2, LogLevel.Information, "Invoice {InvoiceId} is paid already: no notice for its failed attempt {Attempt}")]
    private static partial void LogPaidAlready(ILogger logger, string invoiceId, int attempt);

    [LoggerMessage(3, LogLevel.Information, "Dunning notice {NoticeId} queued as task {TaskId}")]
    private static partial void LogNoticeQueued(ILogger logger, string noticeId, string taskId);
}
