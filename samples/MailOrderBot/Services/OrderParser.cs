using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using AppRuntime;
using AppRuntime.Mail;
using MailOrderBot.Domain;
using MailOrderBot.Module;

namespace MailOrderBot.Services;

/// <summary>
/// Reads an order from an email (the format is in the sample's README): order lines <c>SKU-1001 x 2</c> or <c>2 x SKU-1001</c>
/// in the text body (any case, extra spaces), optional <c>Name:</c> and <c>Address:</c> lines, and <c>sku,quantity</c> rows in
/// CSV attachments. HTML-only mail is converted to text first. Never throws for bad content: it returns a rejected outcome. What it
/// takes from the email into the outcome is bounded: the rejection reason by <c>MailOrderBot:Store:MaxReasonLength</c>, the customer
/// and the address by <c>MailOrderBot:Store:MaxFieldLength</c>, so one hostile email cannot make a huge row or log line.
/// </summary>
[Service]
public sealed partial class OrderParser(Catalog catalog, TimeProvider time, MailOrderBotSettings settings)
{
    /// <summary>The largest quantity of one line.</summary>
    public const int MaxQuantity = 1000;

    /// <summary>Parses one email.</summary>
    public OrderOutcome Parse(ImapMessage email)
    {
        ArgumentNullException.ThrowIfNull(email);
        var messageId = OrderKey(email);
        var receivedAt = email.Date == DateTimeOffset.MinValue ? time.GetUtcNow() : email.Date;
        var text = BodyText(email);

        string? name = null;
        string? address = null;
        var lines = new List<OrderLine>();
        var problems = new List<string>();

        foreach (var rawLine in text.EnumerateLines())
        {
            var line = rawLine.Trim();
            if (line.IsEmpty)
                continue;
            var lineText = line.ToString();
            var field = FieldLine().Match(lineText);
            if (field.Success)
            {
                var value = field.Groups["value"].Value.Trim();
                if (field.Groups["field"].Value.Equals("name", StringComparison.OrdinalIgnoreCase))
                    name ??= value.Length > 0 ? value : null;
                else
                    address ??= value.Length > 0 ? value : null;
                continue;
            }

            var order = SkuFirstLine().Match(lineText) is { Success: true } m1 ? m1 : QuantityFirstLine().Match(lineText);
            if (order.Success)
                AddLine(order.Groups["sku"].Value, order.Groups["qty"].Value, lines, problems);
        }

        foreach (var attachment in email.Attachments)
        {
            if (IsCsv(attachment))
                ReadCsv(attachment, lines, problems);
        }

        if (lines.Count == 0 && problems.Count == 0)
            problems.Add("no order lines found");

        var customer = Bounded(name ?? (string.IsNullOrWhiteSpace(email.From) ? null : email.From), settings.Store.MaxFieldLength);
        address = Bounded(address, settings.Store.MaxFieldLength);
        if (problems.Count > 0)
        {
            return new OrderOutcome
            {
                MessageId = messageId,
                Status = OrderStatus.Rejected,
                Customer = customer,
                Address = address,
                Reason = TextLimits.Truncate(string.Join("; ", problems.Distinct(StringComparer.Ordinal)), settings.Store.MaxReasonLength),
                Lines = lines,
                TotalCents = 0,
                ReceivedAt = receivedAt,
            };
        }

        return new OrderOutcome
        {
            MessageId = messageId,
            Status = OrderStatus.Accepted,
            Customer = customer,
            Address = address,
            Lines = lines,
            TotalCents = lines.Sum(l => l.TotalCents),
            ReceivedAt = receivedAt,
        };
    }

    /// <summary>
    /// The order's key: the Message-ID, or, when the email has none, <c>sha256:</c> and a hash of its sender, subject, date,
    /// bodies and attachments, so the same email read again gets the same key.
    /// </summary>
    public static string OrderKey(ImapMessage email)
    {
        ArgumentNullException.ThrowIfNull(email);
        if (!string.IsNullOrWhiteSpace(email.MessageId))
            return email.MessageId.Trim();

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string? value)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(value ?? ""));
            hash.AppendData([0]);
        }

        Add(email.From);
        Add(string.Join(",", email.To));
        Add(email.Subject);
        Add(email.Date.ToString("O", CultureInfo.InvariantCulture));
        Add(email.TextBody?.ReplaceLineEndings("\n"));
        Add(email.HtmlBody?.ReplaceLineEndings("\n"));
        foreach (var attachment in email.Attachments)
        {
            Add(attachment.FileName);
            hash.AppendData(attachment.Content);
            hash.AppendData([0]);
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string? Bounded(string? text, int maxLength) => text is null ? null : TextLimits.Truncate(text, maxLength);

    private static string BodyText(ImapMessage email)
    {
        if (!string.IsNullOrWhiteSpace(email.TextBody))
            return email.TextBody;
        if (!string.IsNullOrWhiteSpace(email.HtmlBody))
            return HtmlText.ToText(email.HtmlBody);
        return "";
    }

    private void AddLine(string skuText, string quantityText, List<OrderLine> lines, List<string> problems)
    {
        var sku = skuText.Trim().ToUpperInvariant();
        // A quantity too long for a long is certainly above the limit.
        var quantity = long.TryParse(quantityText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var q) ? q : long.MaxValue;
        long unitPrice = 0;
        if (catalog.TryFind(sku, out var product))
            unitPrice = product.PriceCents;
        else
            problems.Add($"unknown SKU {sku}");
        if (quantity is <= 0 or > MaxQuantity)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"quantity {(quantity == long.MaxValue ? quantityText.Trim() : quantity.ToString(CultureInfo.InvariantCulture))} of {sku} is not between 1 and {MaxQuantity}"));
            quantity = Math.Clamp(quantity, int.MinValue, int.MaxValue);
        }

        lines.Add(new OrderLine(sku, quantity, unitPrice));
    }

    private static bool IsCsv(MailAttachment attachment) =>
        attachment.ContentType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)
        || attachment.ContentType.Equals("application/csv", StringComparison.OrdinalIgnoreCase)
        || attachment.FileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    private void ReadCsv(MailAttachment attachment, List<OrderLine> lines, List<string> problems)
    {
        var text = Encoding.UTF8.GetString(attachment.Content).TrimStart('\uFEFF');
        var row = 0;
        foreach (var rawLine in text.EnumerateLines())
        {
            row++;
            var line = rawLine.Trim().ToString();
            if (line.Length == 0)
                continue;
            var cells = line.Split(',', StringSplitOptions.TrimEntries);
            if (cells.Length >= 1 && cells[0].Trim('"').Equals("sku", StringComparison.OrdinalIgnoreCase))
                continue; // header
            if (cells.Length != 2 || cells[0].Length == 0 || !IntegerText().IsMatch(cells[1].Trim('"')))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{attachment.FileName} row {row} is not 'sku,quantity'"));
                continue;
            }

            AddLine(cells[0].Trim('"'), cells[1].Trim('"'), lines, problems);
        }
    }

    [GeneratedRegex(@"^(?<field>name|address)\s*:(?<value>.*)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FieldLine();

    [GeneratedRegex(@"^(?<sku>[a-z][a-z0-9]*-[a-z0-9]+)\s*[x×*]\s*(?<qty>[-+]?\d+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SkuFirstLine();

    [GeneratedRegex(@"^(?<qty>[-+]?\d+)\s*[x×*]\s*(?<sku>[a-z][a-z0-9]*-[a-z0-9]+)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QuantityFirstLine();

    [GeneratedRegex(@"^[-+]?\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerText();
}
