using AppRuntime;
using Microsoft.Extensions.DependencyInjection;
using PaymentNotifier.Domain;

namespace PaymentNotifier.Tests;

/// <summary>The handlers on the public harness: what reaches the store, the notices queue and the pickup folder.</summary>
public sealed class HandlerTests
{
    [Fact]
    public async Task A_failed_payment_becomes_one_notice_even_when_redelivered_or_sent_with_a_second_event_id()
    {
        await using var n = await Notifier.StartAsync();
        await n.App.PublishAsync(Notifier.Failed("evt_1", "in_1", attempt: 1));
        await n.App.PublishAsync(Notifier.Failed("evt_1", "in_1", attempt: 1));     // the same event delivered again
        await n.App.PublishAsync(Notifier.Failed("evt_1b", "in_1", attempt: 1));    // the provider sent the same failure with a new id
        await n.App.PublishAsync(Notifier.Failed("evt_2", "in_1", attempt: 2));     // the next attempt failed too
        await n.App.RunUntilIdleAsync();

        Assert.Equal(4, n.App.Handled<PaymentEvent>("payment-events").Count);
        Assert.Equal(["in_1/1", "in_1/2"], n.App.Published<DunningNotice>("notices").Select(x => x.NoticeId).Order());
        var mails = n.PickedUp();
        Assert.Equal(2, mails.Count);
        var first = Assert.Single(mails, m => m.Subject!.Contains("in_1", StringComparison.Ordinal) && m.TextBody!.Contains("attempt 1", StringComparison.Ordinal));
        Assert.Equal("in_1@example.com", first.To.Mailboxes.Single().Address);
        Assert.Contains("EUR 49.99", first.TextBody, StringComparison.Ordinal);
        Assert.Contains("https://pay.example.com/invoices/in_1/pay?attempt=1", first.TextBody, StringComparison.Ordinal);
        Assert.Contains("href=\"https://pay.example.com/invoices/in_1/pay?attempt=1\"", first.HtmlBody, StringComparison.Ordinal);

        Assert.Equal(["payment_failed 2"], n.Query("SELECT status || ' ' || attempts FROM invoices"));
        Assert.Equal(["2"], n.Query("SELECT COUNT(*) FROM payment_attempts")); // evt_1b is the same failure as evt_1
        Assert.Equal(["in_1/1 sent", "in_1/2 sent"], n.Query("SELECT notice_id || ' ' || state FROM notices ORDER BY notice_id"));
    }

    [Fact]
    public async Task A_paid_invoice_gets_no_notice_for_a_failure_reported_after_it_and_stays_paid()
    {
        await using var n = await Notifier.StartAsync();
        await n.App.PublishAsync(Notifier.Paid("evt_p", "in_9", at: new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero)));
        await n.App.RunUntilIdleAsync();
        await n.App.PublishAsync(Notifier.Failed("evt_f", "in_9", attempt: 1, at: new DateTimeOffset(2026, 12, 5, 11, 0, 0, TimeSpan.Zero)));
        await n.App.RunUntilIdleAsync();

        Assert.Empty(n.App.Published<DunningNotice>("notices"));
        Assert.Empty(n.PickedUp());
        Assert.Equal(["paid"], n.Query("SELECT status FROM invoices WHERE invoice_id = 'in_9'"));
    }

    [Fact]
    public async Task A_notice_task_delivered_twice_is_written_once()
    {
        await using var n = await Notifier.StartAsync();
        await n.App.PublishAsync(Notifier.Notice("in_5", 1));
        await n.App.PublishAsync(Notifier.Notice("in_5", 1));
        // Two workers: the second one may find the first one's claim and wait (a retry after ClaimTimeout) rather than send.
        await n.App.RunUntilDrainedAsync(TimeSpan.FromHours(1));

        Assert.Equal(2, n.App.Handled<DunningNotice>("notices").Count);
        var mail = Assert.Single(n.PickedUp());
        Assert.StartsWith("dunning.in_5.1.", mail.MessageId, StringComparison.Ordinal);
    }

    /// <summary>Fails its first send as a broken connection during the data would (the message may have arrived), then writes to the pickup folder.</summary>
    private sealed class BrokenOnceSender(string path) : PaymentNotifier.Services.IMailSender
    {
        private readonly PaymentNotifier.Services.PickupFolderSender _pickup = new(path, TimeProvider.System);

        public int Calls;

        public string Description => "broken once";

        public Task SendAsync(MimeKit.MimeMessage message, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref Calls) == 1
                ? throw new PaymentNotifier.Services.MailSendException("the connection broke after the data", permanent: false, maybeSent: true, new IOException("reset"))
                : _pickup.SendAsync(message, cancellationToken);
    }

    [Fact]
    public async Task A_send_that_may_have_arrived_keeps_its_claim_and_goes_again_only_when_the_claim_runs_out()
    {
        BrokenOnceSender? sender = null;
        await using var n = await Notifier.StartAsync(services: s => s.AddSingleton<PaymentNotifier.Services.IMailSender>(sp =>
            sender = new BrokenOnceSender(Path.Combine(Path.GetTempPath(), "pn-broken-" + Guid.NewGuid().ToString("N")[..8]))));
        await n.App.PublishAsync(Notifier.Notice("in_12", 1));
        await n.App.RunUntilIdleAsync();

        var retry = Assert.Single(n.App.Retried<DunningNotice>("notices"));
        Assert.Contains("not sent again before its claim runs out", retry.Error, StringComparison.Ordinal);
        Assert.NotEqual(["0"], n.Query("SELECT claimed_at FROM notices WHERE notice_id = 'in_12/1'")); // the claim is kept
        await n.App.AdvanceTimeAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, sender!.Calls);                                // not sent again within the claim timeout (2 minutes)

        await n.App.RunUntilDrainedAsync(TimeSpan.FromHours(1));
        Assert.Equal(2, sender.Calls);
        Assert.Single(n.App.Handled<DunningNotice>("notices"));
        Assert.Equal(["sent"], n.Query("SELECT state FROM notices WHERE notice_id = 'in_12/1'"));
    }

    [Fact]
    public async Task The_digest_lists_the_failures_of_its_day_in_its_zone_with_totals_per_currency_and_is_sent_once()
    {
        await using var n = await Notifier.StartAsync();
        // 2026-12-05 in Berlin (UTC+1) is 2026-12-04T23:00Z to 2026-12-05T23:00Z.
        await n.App.PublishAsync(Notifier.Failed("e1", "in_a", 1, 1000, new DateTimeOffset(2026, 12, 4, 23, 0, 0, TimeSpan.Zero)));   // 00:00 Berlin: in
        await n.App.PublishAsync(Notifier.Failed("e2", "in_b", 1, 2550, new DateTimeOffset(2026, 12, 5, 22, 59, 59, TimeSpan.Zero))); // 23:59:59: in
        await n.App.PublishAsync(Notifier.Failed("e3", "in_c", 1, 7000, new DateTimeOffset(2026, 12, 4, 22, 59, 59, TimeSpan.Zero))); // the day before
        await n.App.PublishAsync(Notifier.Failed("e4", "in_d", 1, 9000, new DateTimeOffset(2026, 12, 5, 23, 0, 0, TimeSpan.Zero)));   // the day after
        await n.App.PublishAsync(Notifier.Paid("e5", "in_e", 500, new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero)));        // paid: not listed
        await n.App.RunUntilIdleAsync();
        var day = new DateOnly(2026, 12, 5);
        await n.App.PublishAsync(new DigestTask(day, "Europe/Berlin"));
        await n.App.PublishAsync(new DigestTask(day, "Europe/Berlin"));
        await n.App.RunUntilIdleAsync();

        var digest = Assert.Single(n.PickedUp(), m => m.Subject!.StartsWith("Failed payments", StringComparison.Ordinal));
        Assert.Equal("finance@example.com", digest.To.Mailboxes.Single().Address);
        Assert.Equal("Failed payments on 2026-12-05: 2", digest.Subject);
        Assert.Contains("in_a attempt 1: EUR 10.00", digest.TextBody, StringComparison.Ordinal);
        Assert.Contains("in_b attempt 1: EUR 25.50", digest.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("in_c", digest.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("in_d", digest.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("in_e", digest.TextBody, StringComparison.Ordinal);
        Assert.Contains("Total EUR: EUR 35.50 in 2 failed payment(s)", digest.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_invalid_setting_is_reported_at_once_with_its_key()
    {
        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => Notifier.StartAsync(new Dictionary<string, string?>
        {
            ["PaymentNotifier:Sender"] = "not an address",
            ["PaymentNotifier:RetryLinkBase"] = "pay.example.com/retry",
            ["PaymentNotifier:Store:Provider"] = "PostgreSql",
            ["PaymentNotifier:Delivery:Mode"] = "Smtp",
            ["PaymentNotifier:Smtp:Host"] = "smtp.example.net",
            ["PaymentNotifier:Smtp:Security"] = "None",
            ["PaymentNotifier:Smtp:Username"] = "billing",
        }));
        foreach (var key in new[]
                 {
                     "PaymentNotifier:Sender", "PaymentNotifier:RetryLinkBase", "PaymentNotifier:Store:ConnectionString",
                     "PaymentNotifier:Smtp:Security", "PaymentNotifier:Smtp:Password",
                 })
            Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a loopback host", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plaintext_smtp_to_a_remote_host_is_allowed_only_when_asked_for()
    {
        var settings = new Dictionary<string, string?>
        {
            ["PaymentNotifier:Delivery:Mode"] = "Smtp",
            ["PaymentNotifier:Smtp:Host"] = "relay.internal.example",
            ["PaymentNotifier:Smtp:Security"] = "None",
        };
        await Assert.ThrowsAsync<ConfigValidationException>(() => Notifier.StartAsync(settings));
        settings["PaymentNotifier:Smtp:AllowInsecure"] = "true";
        await using var n = await Notifier.StartAsync(settings);
    }
}
