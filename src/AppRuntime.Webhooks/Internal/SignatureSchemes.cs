using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Internal;

/// <summary>The outcome of a signature check.</summary>
internal enum SignatureCheck
{
    Valid,

    /// <summary>A header the scheme needs is absent.</summary>
    Missing,

    /// <summary>The signature is malformed or matches no secret.</summary>
    Invalid,

    /// <summary>The signature is right, but its timestamp is outside the tolerance.</summary>
    Stale,
}

/// <summary>
/// One signature scheme: turns configured secrets into HMAC keys and checks a request. Signatures are computed over the raw body
/// with <see cref="HMACSHA256"/> and compared with <see cref="CryptographicOperations.FixedTimeEquals"/>; every configured key is
/// tried (rotation), so the time taken depends on the number of keys and signatures, never on how much of one matched.
/// </summary>
internal abstract class SignatureScheme
{
    /// <summary>A provider may send several signatures; more than this many are not looked at.</summary>
    private const int MaxSignatures = 8;

    /// <summary>The longest header value looked at.</summary>
    protected const int MaxHeaderLength = 4096;

    public static SignatureScheme For(WebhookSourceDefinition definition) => definition.Signature switch
    {
        WebhookSignature.StandardWebhooks => new StandardWebhooksScheme(),
        WebhookSignature.GitHub => new GitHubScheme(),
        WebhookSignature.Stripe => new StripeScheme(),
        WebhookSignature.Hmac => new HmacScheme(definition.SignatureHeader!, definition.SignatureEncoding, definition.SignaturePrefix),
        _ => new NoScheme(),
    };

    /// <summary>True when the scheme checks anything (every scheme but <see cref="WebhookSignature.None"/>).</summary>
    public virtual bool NeedsSecrets => true;

    /// <summary>The HMAC key of a configured secret; throws <see cref="FormatException"/> with a message that never quotes the secret.</summary>
    public virtual byte[] KeyOf(string secret) => Encoding.UTF8.GetBytes(secret);

    public abstract SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, DateTimeOffset now, TimeSpan tolerance);

    protected static string? Header(IHeaderDictionary headers, string name)
    {
        if (!headers.TryGetValue(name, out var values) || values.Count != 1)
            return null;
        var value = values[0];
        return string.IsNullOrEmpty(value) || value.Length > MaxHeaderLength ? null : value;
    }

    /// <summary>HMAC-SHA256 of <paramref name="prefix"/> (ASCII) followed by <paramref name="body"/>, compared with each signature.</summary>
    protected static bool Matches(ReadOnlySpan<char> prefix, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, ReadOnlySpan<byte> signatures, int count)
    {
        byte[]? rented = null;
        var content = body;
        if (!prefix.IsEmpty)
        {
            var length = prefix.Length + body.Length;
            rented = ArrayPool<byte>.Shared.Rent(length);
            var written = Encoding.ASCII.GetBytes(prefix, rented);
            body.CopyTo(rented.AsSpan(written));
            content = rented.AsSpan(0, written + body.Length);
        }
        try
        {
            Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
            var match = false;
            foreach (var key in keys)
            {
                HMACSHA256.HashData(key, content, expected);
                for (var i = 0; i < count; i++)
                    match |= CryptographicOperations.FixedTimeEquals(expected, signatures.Slice(i * HMACSHA256.HashSizeInBytes, HMACSHA256.HashSizeInBytes));
            }
            return match;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    protected static bool IsStale(long unixSeconds, DateTimeOffset now, TimeSpan tolerance) =>
        Math.Abs(now.ToUnixTimeSeconds() - unixSeconds) > (long)tolerance.TotalSeconds;

    protected static bool TryParseUnixSeconds(ReadOnlySpan<char> text, out long seconds) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) && seconds is > 0 and < 253402300800;

    /// <summary>Collects signature bytes (32 each) into a buffer; false when it is full.</summary>
    protected ref struct SignatureList
    {
        private readonly Span<byte> _buffer;

        public SignatureList(Span<byte> buffer) => _buffer = buffer;

        public int Count { get; private set; }

        public readonly ReadOnlySpan<byte> Bytes => _buffer[..(Count * HMACSHA256.HashSizeInBytes)];

        public static int BufferSize => MaxSignatures * HMACSHA256.HashSizeInBytes;

        public void AddHex(ReadOnlySpan<char> hex)
        {
            if (Count == MaxSignatures || hex.Length != 2 * HMACSHA256.HashSizeInBytes)
                return;
            var slot = _buffer.Slice(Count * HMACSHA256.HashSizeInBytes, HMACSHA256.HashSizeInBytes);
            if (Convert.FromHexString(hex, slot, out _, out var written) == OperationStatus.Done && written == HMACSHA256.HashSizeInBytes)
                Count++;
        }

        public void AddBase64(ReadOnlySpan<char> base64)
        {
            if (Count == MaxSignatures || base64.Length > 64)
                return;
            Span<byte> decoded = stackalloc byte[48];
            if (Convert.TryFromBase64Chars(base64, decoded, out var written) && written == HMACSHA256.HashSizeInBytes)
            {
                decoded[..written].CopyTo(_buffer.Slice(Count * HMACSHA256.HashSizeInBytes, HMACSHA256.HashSizeInBytes));
                Count++;
            }
        }
    }
}

/// <summary>
/// Standard Webhooks (https://www.standardwebhooks.com, spec.md "Verifying webhooks"): <c>webhook-signature</c> is a space-separated
/// list of <c>v1,&lt;base64&gt;</c>; the signed content is <c>{webhook-id}.{webhook-timestamp}.{body}</c>; the key is the base64 part
/// of a <c>whsec_</c> secret.
/// </summary>
internal sealed class StandardWebhooksScheme : SignatureScheme
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
    private const string SecretPrefix = "whsec_";

    public override byte[] KeyOf(string secret)
    {
        var text = secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret;
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new FormatException("is not a Standard Webhooks secret: expected 'whsec_' followed by base64.");
        }
        if (key.Length < 16)
            throw new FormatException($"is too short: a Standard Webhooks key has at least 16 bytes (this one has {key.Length}).");
        return key;
    }

    public override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, DateTimeOffset now, TimeSpan tolerance)
    {
        var id = Header(headers, IdHeader);
        var timestamp = Header(headers, TimestampHeader);
        var signature = Header(headers, SignatureHeader);
        if (id is null || timestamp is null || signature is null)
            return SignatureCheck.Missing;
        if (!TryParseUnixSeconds(timestamp, out var seconds))
            return SignatureCheck.Invalid;

        Span<byte> buffer = stackalloc byte[SignatureList.BufferSize];
        var signatures = new SignatureList(buffer);
        foreach (var range in signature.AsSpan().Split(' '))
        {
            var entry = signature.AsSpan(range);
            if (entry.StartsWith("v1,", StringComparison.Ordinal))
                signatures.AddBase64(entry[3..]);
        }
        if (signatures.Count == 0)
            return SignatureCheck.Invalid;
        if (!IsPrintable(id))
            return SignatureCheck.Invalid;
        var prefix = string.Concat(id, ".", timestamp, ".");
        if (!Matches(prefix, body, keys, signatures.Bytes, signatures.Count))
            return SignatureCheck.Invalid;
        return IsStale(seconds, now, tolerance) ? SignatureCheck.Stale : SignatureCheck.Valid;
    }

    private static bool IsPrintable(string text)
    {
        foreach (var c in text)
        {
            if (c is < '!' or > '~')
                return false;
        }
        return true;
    }
}

/// <summary>
/// GitHub ("Validating webhook deliveries", docs.github.com): <c>X-Hub-Signature-256: sha256=&lt;hex&gt;</c>, the HMAC-SHA256 of the
/// body with the secret's UTF-8 bytes.
/// </summary>
internal sealed class GitHubScheme : SignatureScheme
{
    public const string SignatureHeader = "X-Hub-Signature-256";
    private const string Prefix = "sha256=";

    public override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, DateTimeOffset now, TimeSpan tolerance)
    {
        var header = Header(headers, SignatureHeader);
        if (header is null)
            return SignatureCheck.Missing;
        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            return SignatureCheck.Invalid;
        Span<byte> buffer = stackalloc byte[SignatureList.BufferSize];
        var signatures = new SignatureList(buffer);
        signatures.AddHex(header.AsSpan(Prefix.Length).Trim());
        return signatures.Count == 1 && Matches(default, body, keys, signatures.Bytes, 1) ? SignatureCheck.Valid : SignatureCheck.Invalid;
    }
}

/// <summary>
/// Stripe ("Verify signatures manually", docs.stripe.com/webhooks): <c>Stripe-Signature: t=&lt;unix&gt;,v1=&lt;hex&gt;[,v1=…][,v0=…]</c>;
/// the signed content is <c>{t}.{body}</c> and the key is the secret's UTF-8 bytes; only <c>v1</c> signatures count.
/// </summary>
internal sealed class StripeScheme : SignatureScheme
{
    public const string SignatureHeader = "Stripe-Signature";

    public override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, DateTimeOffset now, TimeSpan tolerance)
    {
        var header = Header(headers, SignatureHeader);
        if (header is null)
            return SignatureCheck.Missing;
        Span<byte> buffer = stackalloc byte[SignatureList.BufferSize];
        var signatures = new SignatureList(buffer);
        ReadOnlySpan<char> timestamp = default;
        var span = header.AsSpan();
        foreach (var range in span.Split(','))
        {
            var element = span[range].Trim();
            var equals = element.IndexOf('=');
            if (equals <= 0)
                continue;
            var key = element[..equals];
            var value = element[(equals + 1)..];
            if (key.SequenceEqual("t"))
            {
                if (!timestamp.IsEmpty)
                    return SignatureCheck.Invalid;
                timestamp = value;
            }
            else if (key.SequenceEqual("v1"))
            {
                signatures.AddHex(value);
            }
        }
        if (timestamp.IsEmpty || signatures.Count == 0 || !TryParseUnixSeconds(timestamp, out var seconds))
            return SignatureCheck.Invalid;
        var prefix = string.Concat(timestamp, ".");
        if (!Matches(prefix, body, keys, signatures.Bytes, signatures.Count))
            return SignatureCheck.Invalid;
        return IsStale(seconds, now, tolerance) ? SignatureCheck.Stale : SignatureCheck.Valid;
    }
}

/// <summary>A custom HMAC-SHA256 of the body in one header, hex or base64, after an optional prefix.</summary>
internal sealed class HmacScheme(string header, WebhookSignatureEncoding encoding, string? prefix) : SignatureScheme
{
    public override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, DateTimeOffset now, TimeSpan tolerance)
    {
        var value = Header(headers, header);
        if (value is null)
            return SignatureCheck.Missing;
        var text = value.AsSpan().Trim();
        if (!string.IsNullOrEmpty(prefix))
        {
            if (!text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                return SignatureCheck.Invalid;
            text = text[prefix.Length..];
        }
        Span<byte> buffer = stackalloc byte[SignatureList.BufferSize];
        var signatures = new SignatureList(buffer);
        if (encoding == WebhookSignatureEncoding.Base64)
            signatures.AddBase64(text);
        else
            signatures.AddHex(text);
        return signatures.Count == 1 && Matches(default, body, keys, signatures.Bytes, 1) ? SignatureCheck.Valid : SignatureCheck.Invalid;
    }
}

/// <summary><see cref="WebhookSignature.None"/>: nothing is checked.</summary>
internal sealed class NoScheme : SignatureScheme
{
    public override bool NeedsSecrets => false;

    public override SignatureCheck Verify(IHeaderDictionary headers, ReadOnlySpan<byte> body, IReadOnlyList<byte[]> keys, DateTimeOffset now, TimeSpan tolerance) =>
        SignatureCheck.Valid;
}
