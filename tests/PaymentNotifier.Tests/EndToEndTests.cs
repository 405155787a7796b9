using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AppRuntime.TestSupport;
using Xunit.Abstractions;

namespace PaymentNotifier.Tests;

/// <summary>
/// The whole application as an operator runs it: two instances sharing Redis (queues, webhook deduplication, the schedule) and
/// PostgreSQL (the store), a real SMTP server, and signed webhooks over real HTTP, spread over both instances. Judged by what
/// the SMTP server received and by SQL of the test's own, never by the application's logs or counters. tests/aot/e2e.sh runs this
/// class again against the native AOT binary.
/// </summary>
[Trait("Category", "Process")]
public sealed class EndToEndTests(ITestOutputHelper output)
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)); // given to both instances
    private const int Failures = 50;
    private const int Paid = 300;
    private const int CustomerUpdates = 120;
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private sealed record Event(string Id, string Body);

    [Fact]
    public async Task Five_hundred_events_on_two_instances_give_one_notice_per_failure_the_right_invoices_and_one_digest()
    {
        // The digest (phase 2) covers the day before the Berlin date it fires on. A run that starts in the last ten minutes of a Berlin
        // day first waits for the next one, so that the events' day and the digest's day agree (at most ten minutes, on rare runs).
        var berlinNow = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, Berlin);
        if (berlinNow.TimeOfDay > new TimeSpan(23, 50, 0))
            await Task.Delay(TimeSpan.FromDays(1) - berlinNow.TimeOfDay + TimeSpan.FromSeconds(5));
        var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, Berlin).DateTime).AddDays(-1);

        await using var smtp = await SmtpTestServer.StartAsync();
        await using var pg = await PostgresSchema.CreateAsync();
        var prefix = "pn" + Guid.NewGuid().ToString("N")[..10];
        var ports = new[] { NotifierProcess.FreePort(), NotifierProcess.FreePort() };
        Dictionary<string, string> Settings(int port, string cron) => new()
        {
            ["AppRuntime:Webhooks:Urls"] = $"http://127.0.0.1:{port}",
            ["AppRuntime:Webhooks:Sources:payments:Secrets:0"] = Secret,
            ["AppRuntime:ControlPlane:Urls"] = "http://127.0.0.1:0",
            ["AppRuntime:DefaultBackend"] = "Redis",
            ["AppRuntime:Redis:Configuration"] = Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } r ? r : "127.0.0.1:6390",
            ["AppRuntime:Redis:KeyPrefix"] = prefix,
            ["AppRuntime:DrainTimeout"] = "00:00:10",
            ["AppRuntime:Sources:daily-digest:Cron"] = cron,
            ["PaymentNotifier:Store:Provider"] = "PostgreSql",
            ["PaymentNotifier:Store:ConnectionString"] = pg.ConnectionString,
            ["PaymentNotifier:Delivery:Mode"] = "Smtp",
            ["PaymentNotifier:Smtp:Host"] = smtp.Host,
            ["PaymentNotifier:Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["PaymentNotifier:Smtp:Security"] = "None",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:AppRuntime.Runtime"] = "Information",
        };

        // Phase 1: the events. The digest's schedule is far away (1 January, 03:00).
        var (originals, duplicates, expectedFailed) = Events(day);
        var apps = await Task.WhenAll(ports.Select(p => NotifierProcess.StartAsync(Settings(p, "0 3 1 1 *"))));
        var answers = new ConcurrentDictionary<string, string>();
        var duplicateAnswers = new List<string>();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await Parallel.ForEachAsync(originals.Select((e, i) => (e, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, ct) =>
                answers[item.e.Id] = await PostAsync(http, ports[item.i % 2], item.e, ct));
            // Redeliveries of 30 events, each to the instance that did not take the original: answered as duplicates across instances.
            foreach (var e in duplicates)
                duplicateAnswers.Add(await PostAsync(http, ports[(originals.IndexOf(e) + 1) % 2], e, default));

            // Settled when the store holds every invoice and every notice was recorded as sent (our own SQL).
            await WithOutput(apps, () => Eventually.TrueAsync(async () => await pg.ScalarAsync("SELECT COUNT(*) FROM invoices") == Paid + Failures
                && await pg.ScalarAsync("SELECT COUNT(*) FROM notices WHERE state = 'sent'") == Failures,
                $"every invoice stored and every notice sent (SMTP has {smtp.Messages().Count})", TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(200)));
        }
        finally
        {
            await StopAllAsync(apps);
        }
        Assert.All(originals, e => Assert.Equal("202 accepted", answers[e.Id]));
        Assert.All(duplicateAnswers, a => Assert.Equal("200 duplicate", a));
        Assert.All(apps, app => Assert.Equal(0, app.ExitCode));

        // Exactly one notice per failure, to the right customer, each once.
        var notices = smtp.Messages();
        Assert.Equal(Failures, notices.Count);
        Assert.Equal(Failures, notices.Select(m => m.Message.MessageId).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, Failures).Select(i => $"f{i}@example.com").Order(), notices.Select(m => m.Recipients.Single()).Order());
        foreach (var mail in notices)
        {
            var recipient = mail.Recipients.Single();
            var i = int.Parse(recipient[1..recipient.IndexOf('@', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            Assert.Equal($"Payment failed: invoice in_f{i}", mail.Message.Subject);
            Assert.Contains($"attempt {1 + (i % 3)}", mail.Message.TextBody, StringComparison.Ordinal);
            Assert.Contains($"/invoices/in_f{i}/pay?attempt={1 + (i % 3)}", mail.Message.TextBody, StringComparison.Ordinal);
        }
        // The invoices, by our own query.
        Assert.Equal(Paid, await pg.ScalarAsync("SELECT COUNT(*) FROM invoices WHERE status = 'paid'"));
        Assert.Equal(Failures, await pg.ScalarAsync("SELECT COUNT(*) FROM invoices WHERE status = 'payment_failed'"));
        Assert.Equal(expectedFailed, await pg.ScalarAsync("SELECT SUM(amount_due) FROM invoices WHERE status = 'payment_failed'"));
        Assert.Equal(CustomerUpdates + Paid + Failures, await pg.ScalarAsync("SELECT COUNT(*) FROM customers"));
        Assert.Equal(Paid + Failures, await pg.ScalarAsync("SELECT COUNT(*) FROM payment_attempts"));

        // Phase 2: both instances again, with the digest's schedule at one second a little ahead, fired by both. When the two did not
        // both start before that second (a loaded machine), they are stopped and started again with a later one.
        DateTimeOffset at = default;
        for (var margin = 15; ; margin *= 2)
        {
            var local = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow.AddSeconds(margin), Berlin);
            at = local;
            var cron = string.Create(CultureInfo.InvariantCulture, $"{local.Second} {local.Minute} {local.Hour} {local.Day} {local.Month} *");
            apps = await Task.WhenAll(ports.Select(p => NotifierProcess.StartAsync(Settings(p, cron))));
            if (DateTimeOffset.UtcNow < at - TimeSpan.FromSeconds(1) || margin >= 120)
                break;
            output.WriteLine($"the instances started after {at:O} - 1 s; again with {margin * 2} s");
            await StopAllAsync(apps);
        }
        try
        {
            Assert.True(DateTimeOffset.UtcNow < at, $"the two instances took until after the digest's time {at:O} to start");
            await smtp.WaitForMessagesAsync(Failures + 1, TimeSpan.FromSeconds(60));
            // Both instances are past the occurrence (each fired it) before they stop; a graceful stop handles whatever is queued.
            await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > at + TimeSpan.FromSeconds(3), "both instances passed the occurrence", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await StopAllAsync(apps);
            foreach (var app in apps)
                output.WriteLine(app.Output);
        }
        Assert.All(apps, app => Assert.Equal(0, app.ExitCode));
        var digest = Assert.Single(smtp.Messages(), m => m.Message.Subject!.StartsWith("Failed payments on", StringComparison.Ordinal));
        Assert.Equal(["finance@example.com"], digest.Recipients);
        Assert.Equal($"Failed payments on {day:yyyy-MM-dd}: {Failures}", digest.Message.Subject);
        var lines = digest.Message.TextBody!.Split('\n').Where(l => l.StartsWith("- in_f", StringComparison.Ordinal)).ToList();
        Assert.Equal(Failures, lines.Count);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Total EUR: EUR {expectedFailed / 100m:0.00} in {Failures} failed payment(s)"), digest.Message.TextBody, StringComparison.Ordinal);
        Assert.Equal(Failures + 1, smtp.Messages().Count);
    }

    /// <summary>SIGTERM to every instance at once; each must stop (its exit code is checked by the caller).</summary>
    private static async Task StopAllAsync(ChildProcess[] apps)
    {
        await Task.WhenAll(apps.Select(app => app.SignalAsync("TERM", TimeSpan.FromSeconds(30))));
        foreach (var app in apps)
            app.Dispose();
    }

    /// <summary>Runs <paramref name="wait"/>; when it fails, the instances' output is part of the failure.</summary>
    private static async Task WithOutput(ChildProcess[] apps, Func<Task> wait)
    {
        try
        {
            await wait();
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\n" + string.Join("\n", apps.Select(a => a.Output)), ex);
        }
    }

    /// <summary>470 distinct events (50 failed payments, 300 paid invoices, 120 customer updates) and 30 redeliveries of some of them.</summary>
    private static (List<Event> Originals, List<Event> Duplicates, long ExpectedFailedTotal) Events(DateOnly day)
    {
        string At(int minutes)
        {
            var local = day.ToDateTime(new TimeOnly(8, 0)).AddMinutes(minutes);
            return new DateTimeOffset(local, Berlin.GetUtcOffset(local)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        }
        var originals = new List<Event>();
        long failedTotal = 0;
        for (var i = 0; i < Failures; i++)
        {
            var amount = 1000 + (i * 37);
            failedTotal += amount;
            originals.Add(new($"evt_f{i}", $$$"""{"type":"invoice.payment_failed","timestamp":"{{{At(i * 10)}}}","data":{"customer_id":"cus_f{{{i}}}","customer_email":"f{{{i}}}@example.com","customer_name":"Customer {{{i}}}","invoice_id":"in_f{{{i}}}","amount_due":{{{amount}}},"currency":"EUR","attempt":{{{1 + (i % 3)}}},"failure_reason":"insufficient_funds"}}"""));
        }
        for (var i = 0; i < Paid; i++)
            originals.Add(new($"evt_p{i}", $$$"""{"type":"invoice.paid","timestamp":"{{{At(i)}}}","data":{"customer_id":"cus_p{{{i}}}","customer_email":"p{{{i}}}@example.com","invoice_id":"in_p{{{i}}}","amount_due":{{{500 + i}}},"currency":"EUR","attempt":1}}"""));
        for (var i = 0; i < CustomerUpdates; i++)
            originals.Add(new($"evt_c{i}", $$$"""{"type":"customer.updated","timestamp":"{{{At(i)}}}","data":{"customer_id":"cus_c{{{i}}}","customer_email":"c{{{i}}}@example.com","customer_name":"C {{{i}}}"}}"""));
        // Interleave the kinds, so that both instances get some of each.
        var mixed = originals.OrderBy(e => HashCode(e.Id)).ToList();
        var duplicates = mixed.Where(e => e.Id.StartsWith("evt_f", StringComparison.Ordinal)).Take(10)
            .Concat(mixed.Where(e => e.Id.StartsWith("evt_p", StringComparison.Ordinal)).Take(20)).ToList();
        return (mixed, duplicates, failedTotal);
    }

    private static int HashCode(string id) => BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    /// <summary>Posts one signed event as a provider would, retrying a 503 (the instance is starting); "202 accepted", "200 duplicate", or the status.</summary>
    private static async Task<string> PostAsync(HttpClient http, int port, Event e, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = Sign.StandardWebhooksNow($"http://127.0.0.1:{port}/hooks/payments", Secret, e.Id, e.Body);
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 100)
            {
                await Task.Delay(100, cancellationToken);
                continue;
            }
            if (!response.IsSuccessStatusCode)
                return $"{(int)response.StatusCode} {body}";
            using var json = JsonDocument.Parse(body);
            return $"{(int)response.StatusCode} {json.RootElement.GetProperty("status").GetString()}";
        }
    }
}
