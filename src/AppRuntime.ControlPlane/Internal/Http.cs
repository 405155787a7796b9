using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace AppRuntime.Internal;

/// <summary>Writes JSON with the source-generated context and RFC 7807 problems.</summary>
internal static class Http
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string ProblemContentType = "application/problem+json; charset=utf-8";

    /// <summary>Longest piece of a request echoed back in an error message.</summary>
    private const int MaxEcho = 120;

    public static Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> typeInfo, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = JsonContentType;
        return JsonSerializer.SerializeAsync(context.Response.Body, value, typeInfo, context.RequestAborted);
    }

    public static Task WriteProblemAsync(HttpContext context, int status, string detail, IReadOnlyList<ConfigError>? errors = null, string? backend = null)
    {
        var problem = new ProblemBody("about:blank", ReasonPhrases.GetReasonPhrase(status), status, detail, Echo(context.Request.Path.Value), errors, backend);
        context.Response.StatusCode = status;
        context.Response.ContentType = ProblemContentType;
        return JsonSerializer.SerializeAsync(context.Response.Body, problem, ControlPlaneJsonContext.Default.ProblemBody, context.RequestAborted);
    }

    /// <summary>Cuts user input to a length that is safe to echo.</summary>
    public static string? Echo(string? text) => text is null || text.Length <= MaxEcho ? text : string.Concat(text.AsSpan(0, MaxEcho), "…");

    /// <summary>The route value <paramref name="key"/> as text.</summary>
    public static string RouteValue(HttpContext context, string key) => context.Request.RouteValues[key] as string ?? "";

    /// <summary>Parses an optional <c>max</c> query parameter in [1, <paramref name="limit"/>].</summary>
    public static bool TryGetMax(HttpContext context, int fallback, int limit, out int max, out string? error)
    {
        max = fallback;
        error = null;
        if (!context.Request.Query.TryGetValue("max", out var values))
            return true;
        if (values.Count == 1 && int.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed)
            && parsed >= 1 && parsed <= limit)
        {
            max = parsed;
            return true;
        }
        error = $"The query parameter 'max' must be a whole number from 1 to {limit} (was '{Echo(values.ToString())}').";
        return false;
    }
}

/// <summary>The outcome of reading a JSON request body.</summary>
internal readonly record struct BodyResult<T>(T? Value, int Status, string? Error)
    where T : class
{
    public bool IsOk => Error is null;
}

/// <summary>Reads small JSON request bodies with a hard size limit.</summary>
internal static class RequestBody
{
    /// <summary>
    /// Bodies up to this many bytes are read (and, beyond the endpoint's limit, discarded) before a 413 is sent, so the client
    /// receives the answer instead of a reset connection; Kestrel's own limit is set to it.
    /// </summary>
    public static long DrainLimit(long limit) => Math.Max(limit, 4L * 1024 * 1024);

    public static async Task<BodyResult<T>> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, long limit, bool required)
        where T : class
    {
        var request = context.Request;
        var tooLarge = new BodyResult<T>(null, StatusCodes.Status413PayloadTooLarge, $"The request body is larger than {limit} bytes.");
        if (request.ContentLength > DrainLimit(limit))
            return tooLarge;
        byte[]? bytes;
        try
        {
            bytes = await ReadLimitedAsync(request.Body, limit, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException ex)
        {
            return ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? tooLarge : new(null, ex.StatusCode, "The request body could not be read.");
        }
        if (bytes is null)
            return tooLarge;
        if (request.ContentType is { Length: > 0 } contentType && !IsJson(contentType))
            return new(null, StatusCodes.Status415UnsupportedMediaType, "The request body must be application/json.");
        if (bytes.Length == 0)
        {
            return required
                ? new(null, StatusCodes.Status400BadRequest, "A JSON request body is required.")
                : new(null, StatusCodes.Status200OK, null);
        }
        try
        {
            var value = JsonSerializer.Deserialize(bytes, typeInfo);
            return value is null
                ? new(null, StatusCodes.Status400BadRequest, "The request body must be a JSON object, not null.")
                : new(value, StatusCodes.Status200OK, null);
        }
        catch (JsonException ex)
        {
            return new(null, StatusCodes.Status400BadRequest, "The request body is not valid: " + Http.Echo(ex.Message));
        }
    }

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Reads the body; returns null when it is longer than <paramref name="limit"/> (the rest is read and discarded).</summary>
    private static async Task<byte[]?> ReadLimitedAsync(Stream body, long limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        var tooLarge = false;
        while (true)
        {
            var read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                break;
            if (!tooLarge && buffer.Length + read > limit)
            {
                tooLarge = true;
                buffer.SetLength(0);
            }
            if (!tooLarge)
                buffer.Write(chunk, 0, read);
        }
        return tooLarge ? null : buffer.ToArray();
    }
}

/// <summary>Checks the admin bearer token in constant time.</summary>
internal sealed class TokenCheck
{
    private readonly byte[]? _tokenHash;

    public TokenCheck(string? token) =>
        _tokenHash = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>True when a token is configured.</summary>
    public bool IsConfigured => _tokenHash is not null;

    /// <summary>True when the request carries <c>Authorization: Bearer &lt;token&gt;</c> with the configured token.</summary>
    public bool IsAuthorized(HttpContext context)
    {
        if (_tokenHash is null)
            return false;
        var headers = context.Request.Headers.Authorization;
        if (headers.Count != 1 || headers[0] is not { } header)
            return false;
        const string scheme = "Bearer ";
        if (header.Length <= scheme.Length || !header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        // Hashing first makes the comparison constant-time in the token's length as well as its content.
        return CryptographicOperations.FixedTimeEquals(presented, _tokenHash);
    }
}
