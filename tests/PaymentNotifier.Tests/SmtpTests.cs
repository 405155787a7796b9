using PaymentNotifier.Domain;

namespace PaymentNotifier.Tests;

/// <summary>Notices sent to a real SMTP server (aiosmtpd) whose answers the tests choose; judged by what the server received.</summary>
public sealed class SmtpTests
{
    [Fact]
    public async Task A_notice_arrives_with_a_text_and_an_html_part_from_the_sender()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        await using var n = await Notifier.StartAsync(Notifier.Smtp(smtp));
        await n.App.PublishAsync(Notifier.Notice("in_7", 2, "Bob <bob@example.com>"));
        await n.App.RunUntilIdleAsync();

        var mail = Assert.Single(smtp.Messages());
        Assert.Equal(["bob@example.com"], mail.Recipients);
        Assert.Equal("billing@example.com", mail.MailFrom);
        Assert.Equal("Payment failed: invoice in_7", mail.Message.Subject);
        Assert.Contains("attempt 2", mail.Message.TextBody, StringComparison.Ordinal);
        Assert.Contains("EUR 123.45", mail.Message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("The bank said: card_declined", mail.Message.TextBody, StringComparison.Ordinal);
        Assert.StartsWith("dunning.in_7.2.", mail.Message.MessageId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_451_answer_is_retried_with_backoff_until_the_server_accepts_and_the_notice_arrives_once()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        await using var n = await Notifier.StartAsync(Notifier.Smtp(smtp));
        smtp.SetReply("451 4.3.0 Mailbox busy, try again later");
        await n.App.PublishAsync(Notifier.Notice("in_8", 1));
        await n.App.RunUntilIdleAsync();
        await n.App.AdvanceTimeAsync(TimeSpan.FromMinutes(1));      // the first retry comes after the backoff: 451 again

        var deferred = smtp.Attempts();
        Assert.True(deferred.Count >= 2, $"{deferred.Count} attempts");
        Assert.All(deferred, a => Assert.Equal(451, a.Code));
        Assert.Empty(smtp.Messages());
        var retried = n.App.Retried<DunningNotice>("notices");
        Assert.NotEmpty(retried);
        Assert.Contains("451 4.3.0 Mailbox busy, try again later", retried[0].Error, StringComparison.Ordinal);

        smtp.SetReply(null);                                       // the server recovers
        await n.App.RunUntilDrainedAsync(TimeSpan.FromHours(1));

        var mail = Assert.Single(smtp.Messages());
        Assert.StartsWith("dunning.in_8.1.", mail.Message.MessageId, StringComparison.Ordinal);
        Assert.Equal(250, smtp.Attempts()[^1].Code);
        Assert.Single(n.App.Handled<DunningNotice>("notices"));
        Assert.Empty(n.App.DeadLettered<DunningNotice>("notices"));
        Assert.Equal(["sent"], n.Query("SELECT state FROM notices WHERE notice_id = 'in_8/1'"));
    }

    [Fact]
    public async Task A_550_answer_dead_letters_the_notice_at_once_with_the_servers_reply()
    {
        await using var smtp = await SmtpTestServer.StartAsync();
        await using var n = await Notifier.StartAsync(Notifier.Smtp(smtp));
        smtp.SetReply("550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown", onlyRecipient: "gone@example.com");
        await n.App.PublishAsync(Notifier.Notice("in_9", 1, "gone@example.com"));
        await n.App.PublishAsync(Notifier.Notice("in_10", 1, "here@example.com"));
        await n.App.RunUntilDrainedAsync(TimeSpan.FromHours(1));

        var dead = Assert.Single(n.App.DeadLettered<DunningNotice>("notices"));
        Assert.Equal("in_9", dead.Payload.InvoiceId);
        Assert.Equal(1, dead.Attempt);                               // not retried
        Assert.Contains("550", dead.Error, StringComparison.Ordinal);
        Assert.Contains("Recipient address rejected: User unknown", dead.Error, StringComparison.Ordinal);
        Assert.Single(smtp.Attempts(), a => a.Code == 550);
        var delivered = Assert.Single(smtp.Messages());
        Assert.Equal(["here@example.com"], delivered.Recipients);
    }

    [Fact]
    public async Task An_unreachable_server_is_retried_not_dead_lettered()
    {
        await using var n = await Notifier.StartAsync(new Dictionary<string, string?>
        {
            ["PaymentNotifier:Delivery:Mode"] = "Smtp",
            ["PaymentNotifier:Smtp:Host"] = "127.0.0.1",
            ["PaymentNotifier:Smtp:Port"] = "1",                      // tcpmux: nothing listens there, the connection is refused
            ["PaymentNotifier:Smtp:Security"] = "None",
        });
        await n.App.PublishAsync(Notifier.Notice("in_11", 1));
        await n.App.RunUntilIdleAsync();

        Assert.NotEmpty(n.App.Retried<DunningNotice>("notices"));
        Assert.Empty(n.App.DeadLettered<DunningNotice>("notices"));
        // Certainly not sent (no connection): the claim was given back, so the next attempt may send at once.
        Assert.Equal(["sending 0"], n.Query("SELECT state || ' ' || claimed_at FROM notices WHERE notice_id = 'in_11/1'"));
    }
}
