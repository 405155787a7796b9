namespace PaymentNotifier.Tests;

/// <summary>The README's first command for this sample, <c>--demo</c>: run as a user runs it, judged by its pickup folder and its store.</summary>
[Trait("Category", "Process")]
public sealed class DemoTests
{
    [Fact]
    public async Task The_demo_replays_its_events_writes_four_notices_and_the_digest_and_exits_0()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pn-demo-" + Guid.NewGuid().ToString("N")[..10]);
        using var app = NotifierProcess.Start(["--demo", "--demo-dir=" + dir]);
        var code = await app.WaitForExitAsync(TimeSpan.FromSeconds(120));
        var output = app.Output;
        Assert.True(code == 0, $"exit {code}\n{output}");
        Assert.Contains("events:   8 accepted, 2 duplicate, 1 ignored, 1 rejected 400, 1 rejected 401, 1 rejected 422", output, StringComparison.Ordinal);

        // Our own look at what it wrote: four notices and one digest in the pickup folder.
        var pickup = Path.Combine(dir, "pickup");
        var mails = Directory.GetFiles(pickup, "*.eml").Select(f => MimeKit.MimeMessage.Load(f)).ToList();
        var notices = mails.Where(m => m.Subject!.StartsWith("Payment failed", StringComparison.Ordinal)).Select(m => m.Subject).Order().ToList();
        Assert.Equal(["Payment failed: invoice in_1002", "Payment failed: invoice in_1003", "Payment failed: invoice in_1003", "Payment failed: invoice in_1004"], notices);
        var digest = Assert.Single(mails, m => m.Subject!.StartsWith("Failed payments on", StringComparison.Ordinal));
        Assert.EndsWith(": 4", digest.Subject, StringComparison.Ordinal);
        Assert.Contains("Total EUR: EUR 151.00 in 3 failed payment(s)", digest.TextBody, StringComparison.Ordinal);
        Assert.Contains("Total USD: USD 30.00 in 1 failed payment(s)", digest.TextBody, StringComparison.Ordinal);
        // The event with a bad signature (in_6666) and the refused one (no invoice) left nothing in the store.
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(dir, "payment-notifier.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_concat(invoice_id || ':' || status, ',') FROM (SELECT * FROM invoices ORDER BY invoice_id)";
        Assert.Equal("in_1001:paid,in_1002:payment_failed,in_1003:payment_failed,in_1004:payment_failed,in_1005:paid", command.ExecuteScalar());
        connection.Close();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }
}
