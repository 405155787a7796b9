using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AppRuntime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;

namespace PaymentNotifier.Services;

/// <summary>
/// <c>--demo</c>: replays the bundled events (<c>demo-events.json</c>) against this process's own webhook endpoint, signed with
/// the configured secret as the provider would sign them (plus a wrong signature, a body that is not JSON, a refused one, an
/// ignored type and redeliveries), waits until every task settled, runs the digest of yesterday, prints a summary and stops the
/// application. Nothing here is special to the demo: the requests go through the same HTTP listener, signature check, queues and
/// handlers as a provider's would.
/// </summary>
public sealed class DemoRunner(
    IWebhookServer webhooks,
    RuntimeManager runtime,
    ITaskPublisher<DigestTask> digests,
    PaymentStore store,
    NotifierStats stats,
    IMailSender sender,
    MessageRenderer renderer,
    PaymentNotifierSettings settings,
    IConfiguration configuration,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <summary>The demo's exit code when something went wrong (the summary says what).</summary>
    public const int FailedExitCode = 70;

    /// <summary>The secret the demo signs with and its listener checks (set by <c>--demo</c> only; a deployment has no default secret).</summary>
    public const string DemoSecret = "whsec_cGF5bWVudC1ub3RpZmllci1kZW1vLXNlY3JldC0x";

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
#pragma warning disable CA1031 // The demo reports any failure and stops the application with a failing exit code.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Console.Error.WriteLineAsync($"demo failed: {ex.GetType().Name}: {ex.Message}");
            Environment.ExitCode = FailedExitCode;
        }
        lifetime.StopApplication();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var secret = configuration["AppRuntime:Webhooks:Sources:payments:Secrets:0"] ?? DemoSecret;
        var zoneId = configuration["AppRuntime:Sources:daily-digest:TimeZone"] is { Length: > 0 } configured ? configured : "Europe/Berlin";
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(time.GetUtcNow(), zone).DateTime);

        var endpoint = await WaitForEndpointAsync(cancellationToken);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "demo-events.json"), cancellationToken));
        using var http = new HttpClient { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(30) };
        var answers = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in json.RootElement.GetProperty("events").EnumerateArray())
        {
            var answer = await PostAsync(http, item, secret, today, zone, cancellationToken);
            answers[answer] = answers.GetValueOrDefault(answer) + 1;
        }

        await runtime.WaitUntilDrainedAsync(cancellationToken);
        var yesterday = today.AddDays(-1);
        await digests.PublishAsync(new DigestTask(yesterday, zoneId),
            new TaskPublishOptions { Id = "daily-digest:demo:" + yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) }, cancellationToken);
        await runtime.WaitUntilDrainedAsync(cancellationToken);

        var summary = await store.GetSummaryAsync(cancellationToken);
        var output = new StringBuilder();
        output.AppendLine().AppendLine("Payment Notifier demo summary");
        output.Append("  events:   ").AppendJoin(", ", answers.Select(a => $"{a.Value} {a.Key}")).AppendLine();
        output.AppendLine(CultureInfo.InvariantCulture, $"  sent:     {stats.Notices} notices, {stats.Digests} digest(s) ({sender.Description})");
        output.AppendLine(CultureInfo.InvariantCulture, $"  store:    {summary.Customers} customers, {summary.InvoicesPaid} invoices paid, {summary.InvoicesFailed} with a failed payment, {summary.NoticesSent} notices sent, {summary.DigestsSent} digests ({store.Description})");
        if (settings.Delivery.Mode == DeliveryMode.Pickup)
        {
            var pickup = PaymentNotifierSettings.ResolvePath(settings.Delivery.PickupPath);
            var suffix = "-" + PickupFolderSender.FileName(renderer.DigestMessageId(yesterday));
            if (Directory.Exists(pickup) && Directory.GetFiles(pickup, "*.eml").FirstOrDefault(f => f.EndsWith(suffix, StringComparison.Ordinal)) is { } digestFile)
            {
                var digest = await MimeKit.MimeMessage.LoadAsync(digestFile, cancellationToken);
                output.AppendLine(CultureInfo.InvariantCulture, $"  digest:   {digest.Subject} (to {digest.To}, {digestFile})");
                foreach (var line in (digest.TextBody ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    output.AppendLine("            " + line);
            }
        }
        Console.Write(output.ToString());
    }

    /// <summary>Waits until the listener has an address and the source takes requests (it answers 503 while the runtime starts).</summary>
    private async Task<Uri> WaitForEndpointAsync(CancellationToken cancellationToken)
    {
        while (!webhooks.IsRunning || webhooks.Addresses.Count == 0 || runtime.State != RuntimeState.Running)
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
        return webhooks.Addresses[0];
    }

    /// <summary>Posts one event; returns how it was answered: accepted, duplicate, ignored, or "rejected 401" and so on.</summary>
    private static async Task<string> PostAsync(HttpClient http, JsonElement item, string secret, DateOnly today, TimeZoneInfo zone, CancellationToken cancellationToken)
    {
        var id = item.GetProperty("id").GetString()!;
        var send = item.TryGetProperty("send", out var s) ? s.GetString() : "signed";
        string body;
        if (send == "raw")
        {
            body = item.GetProperty("raw").GetString()!;
        }
        else
        {
            var day = today.AddDays(item.GetProperty("day").GetInt32());
            var local = day.ToDateTime(TimeOnly.ParseExact(item.GetProperty("time").GetString()!, "HH:mm", CultureInfo.InvariantCulture));
            var at = new DateTimeOffset(local, zone.GetUtcOffset(local));
            body = $"{{\"type\":{JsonSerializerString(item.GetProperty("type").GetString()!)},\"timestamp\":\"{at.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture)}\",\"data\":{item.GetProperty("data").GetRawText()}}}";
        }
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/payments") { Content = new StringContent(body, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            request.Headers.Add("webhook-id", id);
            request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", Sign(send == "badSignature" ? "whsec_" + Convert.ToBase64String(new byte[24]) : secret, id, timestamp, body));
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 50)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken); // starting: the provider would retry too
                continue;
            }
            if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
            {
                using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                return answer.RootElement.TryGetProperty("status", out var status) ? status.GetString() ?? "?" : "?";
            }
            return "rejected " + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The Standard Webhooks signature: <c>v1,</c> and the base64 HMAC-SHA256 of <c>{id}.{timestamp}.{body}</c> under the secret's key.</summary>
    internal static string Sign(string secret, string id, long timestamp, string body)
    {
        var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret);
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}.{body}")));
    }

    private static string JsonSerializerString(string value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
            writer.WriteStringValue(value);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
