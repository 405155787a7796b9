using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using AppRuntime;
using MimeKit;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;

namespace PaymentNotifier.Services;

/// <summary>
/// Renders notices and digests from their templates (<see cref="NoticeText"/>, <see cref="NoticeHtml"/>; <c>{{name}}</c> placeholders,
/// HTML-encoded in the HTML part), each with a plain-text and an HTML part and a Message-ID derived from what it is: the same
/// notice always gets the same Message-ID, so a receiver can recognise the copy a crash between send and record may cause.
/// </summary>
[Service]
public sealed class MessageRenderer(PaymentNotifierSettings settings, TimeProvider time)
{
    /// <summary>The plain-text template of a dunning notice.</summary>
    internal const string NoticeText = """
        Hello {{name}},

        we could not collect the payment of {{amount}} for invoice {{invoice}} (attempt {{attempt}}).
        {{reason_line}}
        Please pay here: {{link}}

        If you have paid in the meantime, please ignore this message.

        Your billing team
        """;

    /// <summary>The HTML template of a dunning notice.</summary>
    internal const string NoticeHtml = """
        <!DOCTYPE html>
        <html><body>
        <p>Hello {{name}},</p>
        <p>we could not collect the payment of <strong>{{amount}}</strong> for invoice <strong>{{invoice}}</strong> (attempt {{attempt}}).</p>
        {{reason_html}}
        <p><a href="{{link}}">Pay invoice {{invoice}}</a></p>
        <p>If you have paid in the meantime, please ignore this message.</p>
        <p>Your billing team</p>
        </body></html>
        """;

    /// <summary>The retry link of an invoice and attempt: <c>&lt;RetryLinkBase&gt;/invoices/&lt;invoice&gt;/pay?attempt=&lt;n&gt;</c>.</summary>
    public string RetryLink(string invoiceId, int attempt) =>
        $"{settings.RetryLinkBase.TrimEnd('/')}/invoices/{Uri.EscapeDataString(invoiceId)}/pay?attempt={attempt.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The Message-ID of a notice: <c>dunning.&lt;invoice&gt;.&lt;attempt&gt;.&lt;hash&gt;@&lt;sender's domain&gt;</c>.</summary>
    public string NoticeMessageId(DunningNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        return $"dunning.{Safe(notice.InvoiceId)}.{notice.Attempt.ToString(CultureInfo.InvariantCulture)}.{Hash(notice.NoticeId)}@{settings.SenderMailbox.Domain}";
    }

    /// <summary>The Message-ID of a day's digest.</summary>
    public string DigestMessageId(DateOnly day) => $"digest.{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}@{settings.SenderMailbox.Domain}";

    /// <summary>The notice as an email to the customer.</summary>
    public MimeMessage RenderNotice(DunningNotice notice, string messageId)
    {
        ArgumentNullException.ThrowIfNull(notice);
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["name"] = notice.CustomerName,
            ["amount"] = Money.Format(notice.AmountDue, notice.Currency),
            ["invoice"] = notice.InvoiceId,
            ["attempt"] = notice.Attempt.ToString(CultureInfo.InvariantCulture),
            ["link"] = notice.RetryLink,
        };
        var reason = string.IsNullOrWhiteSpace(notice.FailureReason) ? null : OneLine(notice.FailureReason, 256);
        var text = Fill(NoticeText, values, html: false).Replace("{{reason_line}}", reason is null ? "" : $"The bank said: {reason}\n", StringComparison.Ordinal);
        var html = Fill(NoticeHtml, values, html: true).Replace("{{reason_html}}", reason is null ? "" : $"<p>The bank said: {WebUtility.HtmlEncode(reason)}</p>", StringComparison.Ordinal);
        return Build(MailboxAddress.TryParse(notice.Recipient, out var to) ? to : throw new PermanentTaskException($"Notice {notice.NoticeId}: '{notice.Recipient}' is not an email address."),
            $"Payment failed: invoice {notice.InvoiceId}", text, html, messageId);
    }

    /// <summary>The digest of a day's failed payments, to the finance address.</summary>
    public MimeMessage RenderDigest(DateOnly day, string timeZone, IReadOnlyList<FailedPayment> failures, string messageId)
    {
        ArgumentNullException.ThrowIfNull(failures);
        var dayText = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        var html = new StringBuilder("<!DOCTYPE html>\n<html><body>\n");
        text.Append(CultureInfo.InvariantCulture, $"Failed payments on {dayText} ({timeZone}): {failures.Count}\n\n");
        html.Append(CultureInfo.InvariantCulture, $"<h1>Failed payments on {dayText} ({WebUtility.HtmlEncode(timeZone)}): {failures.Count}</h1>\n");
        if (failures.Count > 0)
        {
            html.Append("<table>\n<tr><th>invoice</th><th>attempt</th><th>customer</th><th>amount</th><th>reason</th></tr>\n");
            foreach (var f in failures)
            {
                var amount = Money.Format(f.Amount, f.Currency);
                var reason = f.Reason is null ? "" : OneLine(f.Reason, 120);
                text.Append(CultureInfo.InvariantCulture, $"- {f.InvoiceId} attempt {f.Attempt}: {amount}, {f.CustomerEmail ?? f.CustomerId}{(reason.Length > 0 ? ", " + reason : "")}\n");
                html.Append(CultureInfo.InvariantCulture,
                    $"<tr><td>{WebUtility.HtmlEncode(f.InvoiceId)}</td><td>{f.Attempt}</td><td>{WebUtility.HtmlEncode(f.CustomerEmail ?? f.CustomerId)}</td><td>{WebUtility.HtmlEncode(amount)}</td><td>{WebUtility.HtmlEncode(reason)}</td></tr>\n");
            }
            html.Append("</table>\n");
        }
        text.Append('\n');
        html.Append("<p>");
        foreach (var total in Totals(failures))
        {
            text.Append(CultureInfo.InvariantCulture, $"Total {total.Key}: {Money.Format(total.Value, total.Key)} in {failures.Count(f => f.Currency == total.Key)} failed payment(s)\n");
            html.Append(CultureInfo.InvariantCulture, $"Total {WebUtility.HtmlEncode(total.Key)}: {WebUtility.HtmlEncode(Money.Format(total.Value, total.Key))}<br>\n");
        }
        html.Append("</p>\n</body></html>\n");
        return Build(settings.FinanceMailbox, $"Failed payments on {dayText}: {failures.Count}", text.ToString(), html.ToString(), messageId);
    }

    /// <summary>The sum per currency, ordered by currency.</summary>
    public static IEnumerable<KeyValuePair<string, long>> Totals(IEnumerable<FailedPayment> failures) =>
        failures.GroupBy(f => f.Currency, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new KeyValuePair<string, long>(g.Key, g.Sum(f => f.Amount)));

    private MimeMessage Build(MailboxAddress to, string subject, string text, string html, string messageId)
    {
        var message = new MimeMessage { Subject = subject, MessageId = messageId, Date = time.GetUtcNow() };
        message.From.Add(settings.SenderMailbox);
        message.To.Add(to);
        message.Body = new BodyBuilder { TextBody = text, HtmlBody = html }.ToMessageBody();
        return message;
    }

    private static string Fill(string template, Dictionary<string, string> values, bool html)
    {
        var result = new StringBuilder(template);
        foreach (var (key, value) in values)
            result.Replace("{{" + key + "}}", html ? WebUtility.HtmlEncode(value) : OneLine(value, 512));
        return result.ToString();
    }

    /// <summary>Control characters (line breaks, escapes) become spaces, and the text is cut at <paramref name="max"/> characters.</summary>
    internal static string OneLine(string value, int max) =>
        TextLimits.Truncate(string.Create(value.Length, value, static (span, v) =>
        {
            for (var i = 0; i < v.Length; i++)
                span[i] = char.IsControl(v[i]) ? ' ' : v[i];
        }), max);

    private static string Safe(string value)
    {
        var chars = value.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').Take(64).ToArray();
        return new string(chars);
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..8];
}

/// <summary>Amounts in minor units, formatted with their currency.</summary>
public static class Money
{
    // ISO 4217 currencies without a minor unit (as payment providers list them).
    private static readonly HashSet<string> s_zeroDecimal = new(StringComparer.Ordinal)
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    };

    // ISO 4217 currencies with three decimals.
    private static readonly HashSet<string> s_threeDecimal = new(StringComparer.Ordinal) { "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND" };

    /// <summary><c>EUR 49.99</c>, <c>JPY 5000</c>, <c>KWD 1.250</c>.</summary>
    public static string Format(long minorUnits, string currency) =>
        s_zeroDecimal.Contains(currency) ? string.Create(CultureInfo.InvariantCulture, $"{currency} {minorUnits}")
        : s_threeDecimal.Contains(currency) ? string.Create(CultureInfo.InvariantCulture, $"{currency} {minorUnits / 1000m:0.000}")
        : string.Create(CultureInfo.InvariantCulture, $"{currency} {minorUnits / 100m:0.00}");
}
