namespace AppRuntime.Internal;

/// <summary>
/// The rules for webhook paths (mirrored by the generator's APPRT0041): an absolute path of plain segments, so that what a
/// provider is configured with, what a proxy forwards and what the listener matches are the same text.
/// </summary>
internal static class WebhookPaths
{
    public const int MaxLength = 200;

    /// <summary>Null when <paramref name="path"/> is valid; otherwise what is wrong with it.</summary>
    public static string? Check(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return "it is empty";
        if (path[0] != '/')
            return "it must start with '/'";
        if (path.Length > MaxLength)
            return $"it is longer than {MaxLength} characters";
        if (path.Length > 1 && path[^1] == '/')
            return "it must not end with '/'";
        foreach (var segment in path[1..].Split('/'))
        {
            if (segment.Length == 0 && path.Length > 1)
                return "it has an empty segment ('//')";
            if (segment is "." or "..")
                return "it has a '.' or '..' segment";
            foreach (var c in segment)
            {
                if (!IsSegmentChar(c))
                    return $"'{c}' is not allowed (use letters, digits and - . _ ~)";
            }
        }
        return null;
    }

    private static bool IsSegmentChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';

    /// <summary>The lookup form of a request path: without one trailing '/', compared ignoring case.</summary>
    public static string Normalize(string path) => path.Length > 1 && path[^1] == '/' ? path[..^1] : path;
}

/// <summary>Source names, event id locations and the settings of the custom HMAC scheme (mirrored by the generator's APPRT0044).</summary>
internal static class WebhookNames
{
    public const string SourceNameRule = "use 1-100 characters of letters, digits, '-', '_' or '.' (it is a configuration key segment)";

    public static bool IsValidSourceName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 100)
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                return false;
        }
        return true;
    }

    /// <summary>Null when the scheme's settings fit together; otherwise the problem.</summary>
    public static string? CheckSettings(WebhookSignature signature, string? signatureHeader, string? signaturePrefix, string? eventIdHeader, string? eventIdJsonPath)
    {
        if (signature == WebhookSignature.Hmac && string.IsNullOrWhiteSpace(signatureHeader))
            return "the Hmac scheme needs SignatureHeader";
        if (signature != WebhookSignature.Hmac && (signatureHeader is not null || signaturePrefix is not null))
            return $"SignatureHeader and SignaturePrefix apply to the Hmac scheme only, not to {signature}";
        if (signatureHeader is not null && !IsHeaderName(signatureHeader))
            return $"SignatureHeader '{signatureHeader}' is not a header name";
        if (eventIdHeader is not null && eventIdJsonPath is not null)
            return "set EventIdHeader or EventIdJsonPath, not both";
        if (eventIdHeader is not null && !IsHeaderName(eventIdHeader))
            return $"EventIdHeader '{eventIdHeader}' is not a header name";
        if (eventIdJsonPath is not null && !IsJsonPath(eventIdJsonPath))
            return $"EventIdJsonPath '{eventIdJsonPath}' must be member names separated by '.' (such as 'id' or 'data.id')";
        return null;
    }

    /// <summary>An HTTP token (RFC 9110): letters, digits and !#$%&amp;'*+-.^_`|~.</summary>
    public static bool IsHeaderName(string name)
    {
        if (name.Length is 0 or > 100)
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
                return false;
        }
        return true;
    }

    public static bool IsJsonPath(string path)
    {
        if (path.Length is 0 or > 200)
            return false;
        foreach (var segment in path.Split('.'))
        {
            if (segment.Length == 0 || segment.Any(char.IsWhiteSpace))
                return false;
        }
        return true;
    }
}
