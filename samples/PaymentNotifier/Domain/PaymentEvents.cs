using System.Text.Json.Serialization;

namespace PaymentNotifier.Domain;

/// <summary>The event types the notifier handles; others are acknowledged and ignored.</summary>
public static class PaymentEventTypes
{
    /// <summary>An invoice was paid.</summary>
    public const string InvoicePaid = "invoice.paid";

    /// <summary>A payment of an invoice failed (the provider retries it later: <see cref="PaymentData.Attempt"/> counts).</summary>
    public const string InvoicePaymentFailed = "invoice.payment_failed";

    /// <summary>A customer's name or email address changed.</summary>
    public const string CustomerUpdated = "customer.updated";

    /// <summary>True for the three types above.</summary>
    public static bool IsKnown(string? type) => type is InvoicePaid or InvoicePaymentFailed or CustomerUpdated;
}

/// <summary>
/// The body of a provider's webhook request, in the Standard Webhooks payload shape: <c>{"type", "timestamp", "data"}</c>. The
/// event id is the <c>webhook-id</c> header, not part of the body.
/// </summary>
public sealed class PaymentWebhookBody
{
    /// <summary>The event type, such as <c>invoice.paid</c>.</summary>
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    /// <summary>When the event happened at the provider.</summary>
    [JsonPropertyName("timestamp")]
    public DateTimeOffset? Timestamp { get; set; }

    /// <summary>The event's data.</summary>
    [JsonPropertyName("data")]
    public PaymentData? Data { get; set; }
}

/// <summary>The <c>data</c> member of a payment event.</summary>
public sealed class PaymentData
{
    /// <summary>The customer (every type).</summary>
    [JsonPropertyName("customer_id")]
    public string? CustomerId { get; set; }

    /// <summary>The customer's email address (customer.updated; on invoice events, the address the provider has on file).</summary>
    [JsonPropertyName("customer_email")]
    public string? CustomerEmail { get; set; }

    /// <summary>The customer's name.</summary>
    [JsonPropertyName("customer_name")]
    public string? CustomerName { get; set; }

    /// <summary>The invoice (invoice events).</summary>
    [JsonPropertyName("invoice_id")]
    public string? InvoiceId { get; set; }

    /// <summary>The amount due, in the currency's minor unit (cents).</summary>
    [JsonPropertyName("amount_due")]
    public long? AmountDue { get; set; }

    /// <summary>The ISO 4217 currency code, such as <c>EUR</c>.</summary>
    [JsonPropertyName("currency")]
    public string? Currency { get; set; }

    /// <summary>The payment attempt this event reports, from 1.</summary>
    [JsonPropertyName("attempt")]
    public int? Attempt { get; set; }

    /// <summary>Why the payment failed (invoice.payment_failed).</summary>
    [JsonPropertyName("failure_reason")]
    public string? FailureReason { get; set; }
}

/// <summary>A verified, well-formed payment event: the task of the <c>payment-events</c> queue.</summary>
/// <param name="EventId">The provider's event id (the task's idempotency key).</param>
/// <param name="Type">One of <see cref="PaymentEventTypes"/>.</param>
/// <param name="OccurredAt">When it happened at the provider.</param>
/// <param name="CustomerId">The customer.</param>
/// <param name="CustomerEmail">The customer's address, when the event carries one.</param>
/// <param name="CustomerName">The customer's name, when the event carries one.</param>
/// <param name="InvoiceId">The invoice (invoice events).</param>
/// <param name="AmountDue">The amount in minor units (invoice events).</param>
/// <param name="Currency">The currency (invoice events).</param>
/// <param name="Attempt">The payment attempt (invoice events; 1 when the provider does not say).</param>
/// <param name="FailureReason">Why the payment failed.</param>
public sealed record PaymentEvent(
    string EventId,
    string Type,
    DateTimeOffset OccurredAt,
    string CustomerId,
    string? CustomerEmail,
    string? CustomerName,
    string? InvoiceId,
    long AmountDue,
    string? Currency,
    int Attempt,
    string? FailureReason);

/// <summary>A dunning notice to send: the task of the <c>notices</c> queue. One per invoice and attempt.</summary>
/// <param name="InvoiceId">The invoice.</param>
/// <param name="Attempt">The failed payment attempt.</param>
/// <param name="CustomerName">Whom to greet.</param>
/// <param name="Recipient">The customer's email address.</param>
/// <param name="AmountDue">The amount in minor units.</param>
/// <param name="Currency">The currency.</param>
/// <param name="RetryLink">Where the customer can pay again.</param>
/// <param name="FailureReason">What the provider said.</param>
public sealed record DunningNotice(
    string InvoiceId,
    int Attempt,
    string CustomerName,
    string Recipient,
    long AmountDue,
    string Currency,
    string RetryLink,
    string? FailureReason)
{
    /// <summary>The notice's identity: <c>&lt;invoice&gt;/&lt;attempt&gt;</c>; also its task id's and Message-ID's stem.</summary>
    public string NoticeId => $"{InvoiceId}/{Attempt}";
}

/// <summary>The digest of one day: the task of the <c>digests</c> queue.</summary>
/// <param name="Day">The day the digest covers, in <paramref name="TimeZone"/>.</param>
/// <param name="TimeZone">The IANA time zone the day is taken in.</param>
public sealed record DigestTask(DateOnly Day, string TimeZone);
