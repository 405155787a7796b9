using AppRuntime;
using PaymentNotifier.Domain;
using PaymentNotifier.Handlers;
using PaymentNotifier.Services;
using PaymentNotifier.Sources;

namespace PaymentNotifier.Tests;

/// <summary>The webhook mapping, the digest's day and amounts: plain functions.</summary>
public sealed class MappingTests
{
    private static PaymentWebhookBody Body(string type, Action<PaymentData>? change = null)
    {
        var data = new PaymentData
        {
            CustomerId = "cus_1", CustomerEmail = "ann@example.com", CustomerName = "Ann", InvoiceId = "in_1", AmountDue = 4999, Currency = "eur", Attempt = 2,
            FailureReason = "insufficient_funds",
        };
        change?.Invoke(data);
        return new PaymentWebhookBody { Type = type, Timestamp = new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero), Data = data };
    }

    [Fact]
    public void A_failed_payment_becomes_a_task_with_the_event_id_and_the_currency_in_capitals()
    {
        var mapping = PaymentWebhook.Map(Body(PaymentEventTypes.InvoicePaymentFailed), "msg_1");
        Assert.Equal(WebhookMappingResult.Accept, mapping.Result);
        Assert.Equal(new PaymentEvent("msg_1", PaymentEventTypes.InvoicePaymentFailed, new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero), "cus_1",
            "ann@example.com", "Ann", "in_1", 4999, "EUR", 2, "insufficient_funds"), mapping.Task);
    }

    [Theory]
    [InlineData("invoice_id", "data.invoice_id: is required.")]
    [InlineData("amount", "data.amount_due:")]
    [InlineData("currency", "data.currency:")]
    [InlineData("attempt", "data.attempt:")]
    [InlineData("email", "data.customer_email: is not an email address.")]
    [InlineData("long-name", "data.customer_name: is longer than 256 characters.")]
    [InlineData("no-domain", "data.customer_email: is not an email address.")]
    [InlineData("nul", "data.customer_name: contains control characters.")]
    [InlineData("newline-id", "data.invoice_id: contains control characters.")]
    [InlineData("no-attempt", "data.attempt: is required for invoice.payment_failed.")]
    public void A_known_type_without_what_it_needs_is_refused_naming_the_member(string broken, string reason)
    {
        var mapping = PaymentWebhook.Map(Body(PaymentEventTypes.InvoicePaymentFailed, d =>
        {
            switch (broken)
            {
                case "invoice_id": d.InvoiceId = " "; break;
                case "amount": d.AmountDue = -1; break;
                case "currency": d.Currency = "EURO"; break;
                case "attempt": d.Attempt = 0; break;
                case "email": d.CustomerEmail = "not-an-address@"; break;
                case "long-name": d.CustomerName = new string('x', 257); break;
                case "no-domain": d.CustomerEmail = "ann"; break;
                case "nul": d.CustomerName = "Ann\u0000"; break;
                case "newline-id": d.InvoiceId = "in_1\r\nBcc: x@example.com"; break;
                case "no-attempt": d.Attempt = null; break;
            }
        }), "msg_2");
        Assert.Equal(WebhookMappingResult.Reject, mapping.Result);
        Assert.StartsWith(reason, mapping.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_type_is_acknowledged_and_dropped_and_a_missing_type_refused()
    {
        Assert.Equal(WebhookMappingResult.Ignore, PaymentWebhook.Map(Body("charge.refunded"), "m").Result);
        Assert.Equal(WebhookMappingResult.Reject, PaymentWebhook.Map(new PaymentWebhookBody(), "m").Result);
    }

    [Theory]
    [InlineData(2026, 12, 5, 24)]
    [InlineData(2026, 3, 29, 23)]  // clocks go forward in Berlin
    [InlineData(2026, 10, 25, 25)] // and back
    public void A_digest_day_runs_from_midnight_to_midnight_in_its_zone(int year, int month, int day, int hours)
    {
        var (from, to) = DigestHandler.DayBounds(new DateOnly(year, month, day), TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));
        Assert.Equal(TimeSpan.FromHours(hours), to - from);
        Assert.Equal(TimeSpan.Zero, TimeZoneInfo.ConvertTime(from, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin")).TimeOfDay);
    }

    [Fact]
    public void A_day_whose_midnight_is_skipped_starts_at_its_first_valid_time()
    {
        // Santiago de Chile moved its clocks from 24:00 to 01:00 on 2026-09-06: that day has no midnight.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/Santiago");
        var (from, to) = DigestHandler.DayBounds(new DateOnly(2026, 9, 6), zone);
        Assert.Equal(new TimeSpan(1, 0, 0), TimeZoneInfo.ConvertTime(from, zone).TimeOfDay);
        Assert.Equal(TimeSpan.FromHours(23), to - from);
    }

    [Theory]
    [InlineData(4999, "EUR", "EUR 49.99")]
    [InlineData(5000, "JPY", "JPY 5000")]
    [InlineData(5, "USD", "USD 0.05")]
    [InlineData(1250, "KWD", "KWD 1.250")]
    public void Amounts_are_shown_in_major_units(long minor, string currency, string expected) => Assert.Equal(expected, Money.Format(minor, currency));

    [Fact]
    public void The_demo_signs_as_the_standard_webhooks_spec_does()
    {
        // The spec's published example (standard-webhooks, libraries' test vector).
        var signature = DemoRunner.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "{\"test\": 2432232314}");
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }
}

/// <summary>The generated topology shows the chain: the payment-events handler publishes to the notices queue.</summary>
public sealed class TopologyTests
{
    [Fact]
    public void The_generated_topology_has_the_handler_that_publishes_notices_and_draws_the_edge()
    {
        var topology = PaymentNotifier.Module.PaymentNotifierModule.Topology;
        var events = Assert.Single(topology.Handlers, h => h.Queue == "payment-events");
        Assert.Equal(["notices"], events.Publishes);
        Assert.All(topology.Handlers.Where(h => h.Queue != "payment-events"), h => Assert.Empty(h.Publishes));
        Assert.Contains("h_payment_events_PaymentNotifier_Handlers_PaymentEventHandler -.->|publishes| q_notices",
            PaymentNotifier.Module.PaymentNotifierModule.TopologyMermaid, StringComparison.Ordinal);
        Assert.Equal(["daily-digest", "payments"], topology.Sources.Select(s => s.Name));
    }
}
