using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using MimeKit;

namespace AppRuntime.Mail;

/// <summary>
/// One email as a task: where it came from (folder, UIDVALIDITY, UID), its identity (Message-ID, idempotency key),
/// its headers, text and HTML bodies and attachments. Domain-agnostic: any handler that processes mail can consume it,
/// whatever source produced it (an IMAP polling or IDLE source, or a source that reads <c>.eml</c> files).
/// </summary>
public sealed record ImapMessage
{
    /// <summary>
    /// The idempotency key and task id. For IMAP it is <c>{UIDVALIDITY}:{UID}</c>, which names one message in one folder for
    /// as long as the folder's UIDVALIDITY stays the same.
    /// </summary>
    public required string IdempotencyKey { get; init; }

    /// <summary>The IMAP UID of the message in <see cref="Folder"/>; 0 when the message does not come from IMAP.</summary>
    public uint Uid { get; init; }

    /// <summary>The folder's UIDVALIDITY when the message was read; 0 when the message does not come from IMAP.</summary>
    public uint UidValidity { get; init; }

    /// <summary>The IMAP folder (for example <c>INBOX</c>) or another origin such as a directory path.</summary>
    public required string Folder { get; init; }

    /// <summary>The Message-ID header without angle brackets, or null when the message has none.</summary>
    public string? MessageId { get; init; }

    /// <summary>The From addresses, formatted (for example <c>Ann &lt;ann@example.com&gt;</c>).</summary>
    public string From { get; init; } = "";

    /// <summary>The To addresses, formatted.</summary>
    public IReadOnlyList<string> To { get; init; } = [];

    /// <summary>The subject; empty when missing.</summary>
    public string Subject { get; init; } = "";

    /// <summary>The Date header; <see cref="DateTimeOffset.MinValue"/> when missing or unreadable.</summary>
    public DateTimeOffset Date { get; init; }

    /// <summary>Every header in order, duplicates kept (for example several <c>Received</c> headers).</summary>
    public IReadOnlyList<MailHeader> Headers { get; init; } = [];

    /// <summary>The plain-text body, or null when the message has none.</summary>
    public string? TextBody { get; init; }

    /// <summary>The HTML body, or null when the message has none.</summary>
    public string? HtmlBody { get; init; }

    /// <summary>The attachments, decoded.</summary>
    public IReadOnlyList<MailAttachment> Attachments { get; init; } = [];

    /// <summary>
    /// Source-generated System.Text.Json metadata for this type, so it can travel through durable queues without reflection
    /// (for example <c>new JsonTaskSerializer&lt;ImapMessage&gt;(ImapMessage.JsonTypeInfo)</c>).
    /// </summary>
    public static JsonTypeInfo<ImapMessage> JsonTypeInfo => ImapMessageJsonContext.Default.ImapMessage;

    /// <summary>A reflection-free task serializer for durable queues of emails.</summary>
    public static TaskSerializer<ImapMessage> Serializer { get; } = new JsonTaskSerializer<ImapMessage>(ImapMessageJsonContext.Default.ImapMessage);

    /// <summary>The value of the first header named <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? GetHeader(string name)
    {
        foreach (var header in Headers)
        {
            if (string.Equals(header.Name, name, StringComparison.OrdinalIgnoreCase))
                return header.Value;
        }

        return null;
    }

    /// <summary>Converts a parsed IMAP message; the idempotency key is <c>{UIDVALIDITY}:{UID}</c>.</summary>
    /// <param name="message">The parsed message.</param>
    /// <param name="folder">The folder it was read from.</param>
    /// <param name="uidValidity">The folder's UIDVALIDITY.</param>
    /// <param name="uid">The message's UID.</param>
    public static ImapMessage FromMime(MimeMessage message, string folder, uint uidValidity, uint uid) =>
        FromMime(message, folder, CreateIdempotencyKey(uidValidity, uid)) with { Uid = uid, UidValidity = uidValidity };

    /// <summary>Converts a parsed message that does not come from IMAP (for example an <c>.eml</c> file).</summary>
    /// <param name="message">The parsed message.</param>
    /// <param name="origin">Where it came from (stored in <see cref="Folder"/>).</param>
    /// <param name="idempotencyKey">A key that stays the same when the same message is read again.</param>
    public static ImapMessage FromMime(MimeMessage message, string origin, string idempotencyKey)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(origin);
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);

        var headers = new List<MailHeader>(message.Headers.Count);
        foreach (var header in message.Headers)
            headers.Add(new MailHeader(header.Field, header.Value ?? ""));

        var attachments = new List<MailAttachment>();
        foreach (var entity in message.Attachments)
        {
            if (entity is MimePart part)
            {
                using var buffer = new MemoryStream();
                part.Content?.DecodeTo(buffer);
                attachments.Add(new MailAttachment(
                    part.FileName ?? "attachment",
                    part.ContentType.MimeType,
                    buffer.ToArray()));
            }
            else if (entity is MessagePart rfc822 && rfc822.Message is not null)
            {
                using var buffer = new MemoryStream();
                rfc822.Message.WriteTo(buffer);
                attachments.Add(new MailAttachment(
                    rfc822.ContentDisposition?.FileName ?? "message.eml",
                    rfc822.ContentType.MimeType,
                    buffer.ToArray()));
            }
        }

        return new ImapMessage
        {
            IdempotencyKey = idempotencyKey,
            Folder = origin,
            MessageId = string.IsNullOrWhiteSpace(message.MessageId) ? null : message.MessageId,
            From = message.From.ToString(),
            To = [.. message.To.Select(a => a.ToString())],
            Subject = message.Subject ?? "",
            Date = message.Headers.Contains(HeaderId.Date) ? message.Date : DateTimeOffset.MinValue,
            Headers = headers,
            TextBody = message.TextBody,
            HtmlBody = message.HtmlBody,
            Attachments = attachments,
        };
    }

    /// <summary>The IMAP idempotency key: <c>{UIDVALIDITY}:{UID}</c>.</summary>
    public static string CreateIdempotencyKey(uint uidValidity, uint uid) =>
        string.Create(CultureInfo.InvariantCulture, $"{uidValidity}:{uid}");
}

/// <summary>One header of an <see cref="ImapMessage"/>.</summary>
/// <param name="Name">The field name as written.</param>
/// <param name="Value">The decoded value.</param>
public sealed record MailHeader(string Name, string Value);

/// <summary>One attachment of an <see cref="ImapMessage"/>, decoded.</summary>
/// <param name="FileName">The file name (<c>attachment</c> when the message names none).</param>
/// <param name="ContentType">The MIME type, for example <c>text/csv</c>.</param>
/// <param name="Content">The decoded bytes.</param>
public sealed record MailAttachment(string FileName, string ContentType, byte[] Content);

/// <summary>System.Text.Json source-generated metadata for <see cref="ImapMessage"/> (exposed as <see cref="ImapMessage.JsonTypeInfo"/>).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ImapMessage))]
internal sealed partial class ImapMessageJsonContext : JsonSerializerContext;
