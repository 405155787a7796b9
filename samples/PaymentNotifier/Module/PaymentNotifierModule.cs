using AppRuntime;
using PaymentNotifier.Domain;

namespace PaymentNotifier.Module;

/// <summary>
/// The Payment Notifier: three queues, each with its pool and handler.
/// <list type="bullet">
/// <item><c>payment-events</c>: verified webhook events (<see cref="Sources.PaymentWebhook"/>); the handler updates the store and
/// publishes a <see cref="DunningNotice"/> for a failed payment.</item>
/// <item><c>notices</c>: dunning notices, sent by SMTP (or written to a pickup folder). SMTP answers 4xx are retried with backoff
/// (up to 8 attempts); 5xx answers dead-letter the notice at once with the server's reply.</item>
/// <item><c>digests</c>: one task per day from the <c>daily-digest</c> schedule (<see cref="Sources.DailyDigest"/>).</item>
/// </list>
/// The backends are configuration: in memory by default, Redis with <c>AppRuntime:DefaultBackend=Redis</c>.
/// </summary>
[ApplicationModule("payment-notifier")]
[TaskQueue<PaymentEvent>("payment-events", Capacity = 10000)]
[TaskQueue<DunningNotice>("notices", Capacity = 10000)]
[TaskQueue<DigestTask>("digests")]
[WorkerPool("payment-events", Workers = 4, MaxAttempts = 5, RetryDelayMilliseconds = 500, WorkersConfigKey = "PaymentNotifier:Workers:Events")]
[WorkerPool("notices", Workers = 2, MaxAttempts = 8, RetryDelayMilliseconds = 2000, WorkersConfigKey = "PaymentNotifier:Workers:Notices")]
[WorkerPool("digests", Workers = 1, MaxAttempts = 8, RetryDelayMilliseconds = 5000)]
public static partial class PaymentNotifierModule;
