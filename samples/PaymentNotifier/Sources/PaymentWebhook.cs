using AppRuntime;
using PaymentNotifier.Domain;

namespace PaymentNotifier.Sources;

/// <summary>
/// The payment provider's webhook: <c>POST /hooks/payments</c>, signed with the Standard Webhooks scheme (the secrets are
/// <c>AppRuntime:Webhooks:Sources:payments:Secrets</c>); the event id <c>webhook-id</c> is the task's idempotency key. The mapping
/// turns a verified body into a <see cref="PaymentEvent"/>: an event type the notifier does not handle is acknowledged (200) and
/// dropped; a known type without the members it needs is refused (422) with the member that is missing.
/// </summary>
[WebhookSource("payment-events", Name = "payments", Path = "/hooks/payments", Signature = WebhookSignature.StandardWebhooks)]
public sealed class PaymentWebhook : IWebhookSource<PaymentWebhookBody, PaymentEvent>
{
    /// <summary>The longest id, name or reason taken from an event (longer ones are refused).</summary>
    internal const int MaxFieldLength = 256;

    /// <inheritdoc />
    public ValueTask<WebhookMapping<PaymentEvent>> MapAsync(PaymentWebhookBody request, WebhookRequest webhook, CancellationToken cancellationToken) =>
        new(Map(request, webhook.EventId));

    /// <summary>The mapping, on its own for the unit tests.</summary>
    internal static WebhookMapping<PaymentEvent> Map(PaymentWebhookBody request, string eventId)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Type))
            return WebhookMapping<PaymentEvent>.Reject("type: is required.");
        if (!PaymentEventTypes.IsKnown(request.Type))
            return WebhookMapping<PaymentEvent>.Ignore($"event type '{Cut(request.Type)}' is not handled");
        if (request.Timestamp is not { } occurredAt)
            return WebhookMapping<PaymentEvent>.Reject("timestamp: is required.");
        if (request.Data is not { } data)
            return WebhookMapping<PaymentEvent>.Reject("data: is required.");
        if (Missing(data.CustomerId) is { } customer)
            return WebhookMapping<PaymentEvent>.Reject("data.customer_id: " + customer);
        foreach (var (name, value) in new[]
                 {
                     ("customer_id", data.CustomerId), ("customer_email", data.CustomerEmail), ("customer_name", data.CustomerName),
                     ("invoice_id", data.InvoiceId), ("failure_reason", data.FailureReason),
                 })
        {
            if (value is { Length: > MaxFieldLength })
                return WebhookMapping<PaymentEvent>.Reject($"data.{name}: is longer than {MaxFieldLength} characters.");
            // Line breaks, escapes and NUL would reach mail headers, logs and the store (PostgreSQL refuses NUL in text).
            if (value is not null && value.Any(char.IsControl))
                return WebhookMapping<PaymentEvent>.Reject($"data.{name}: contains control characters.");
        }
        if (data.CustomerEmail is { Length: > 0 } email && (!MimeKit.MailboxAddress.TryParse(email, out var mailbox) || string.IsNullOrEmpty(mailbox.Domain)))
            return WebhookMapping<PaymentEvent>.Reject("data.customer_email: is not an email address.");

        if (request.Type == PaymentEventTypes.CustomerUpdated)
        {
            if (string.IsNullOrWhiteSpace(data.CustomerEmail))
                return WebhookMapping<PaymentEvent>.Reject("data.customer_email: is required for customer.updated.");
            return WebhookMapping<PaymentEvent>.Accept(new PaymentEvent(eventId, request.Type, occurredAt, data.CustomerId!, data.CustomerEmail,
                data.CustomerName, null, 0, null, 0, null));
        }

        if (Missing(data.InvoiceId) is { } invoice)
            return WebhookMapping<PaymentEvent>.Reject("data.invoice_id: " + invoice);
        if (data.AmountDue is not (>= 0 and <= 1_000_000_000_000))
            return WebhookMapping<PaymentEvent>.Reject("data.amount_due: is required, in minor units from 0 to 10^12.");
        if (data.Currency is not { Length: 3 } currency || !currency.All(char.IsAsciiLetter))
            return WebhookMapping<PaymentEvent>.Reject("data.currency: is required, a three-letter ISO 4217 code.");
        if (data.Attempt is < 1 or > 1000)
            return WebhookMapping<PaymentEvent>.Reject("data.attempt: must be from 1 to 1000.");
        // Each failed attempt is one notice: without its number, a second failure of the invoice would look like the first.
        if (request.Type == PaymentEventTypes.InvoicePaymentFailed && data.Attempt is null)
            return WebhookMapping<PaymentEvent>.Reject("data.attempt: is required for invoice.payment_failed.");
        if (request.Type == PaymentEventTypes.InvoicePaymentFailed && string.IsNullOrWhiteSpace(data.CustomerEmail))
            return WebhookMapping<PaymentEvent>.Reject("data.customer_email: is required for invoice.payment_failed (the notice goes there).");
        return WebhookMapping<PaymentEvent>.Accept(new PaymentEvent(eventId, request.Type, occurredAt, data.CustomerId!, data.CustomerEmail,
            data.CustomerName, data.InvoiceId, data.AmountDue.Value, currency.ToUpperInvariant(), data.Attempt ?? 1, data.FailureReason));
    }

    private static string? Missing(string? value) => string.IsNullOrWhiteSpace(value)
        ? "is required."
        : value.Length > MaxFieldLength ? $"is longer than {MaxFieldLength} characters." : null;

    private static string Cut(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
