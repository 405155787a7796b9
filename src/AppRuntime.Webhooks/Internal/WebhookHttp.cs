using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace AppRuntime.Internal;

/// <summary>The answer to an accepted, duplicate or ignored request.</summary>
internal sealed record WebhookAnswer(
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TaskId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail);

/// <summary>An RFC 7807 problem.</summary>
internal sealed record WebhookProblem(string Type, string Title, int Status, string? Detail, string? Instance);

/// <summary>Source-generated JSON for every answer of the webhook listener: no reflection-based serialization.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(WebhookAnswer))]
[JsonSerializable(typeof(WebhookProblem))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

/// <summary>Writes the listener's answers: JSON with a Content-Length, RFC 7807 problems, and the headers every answer carries.</summary>
internal static class WebhookHttp
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string ProblemContentType = "application/problem+json; charset=utf-8";
    private const int MaxEcho = 300;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static Task WriteAnswerAsync(HttpContext context, int status, WebhookAnswer answer) =>
        WriteAsync(context, status, JsonContentType, answer, WebhookJsonContext.Default.WebhookAnswer);

    public static Task WriteProblemAsync(HttpContext context, int status, string? detail)
    {
        var problem = new WebhookProblem("about:blank", ReasonPhrases.GetReasonPhrase(status), status, Echo(detail), Echo(context.Request.Path.Value));
        return WriteAsync(context, status, ProblemContentType, problem, WebhookJsonContext.Default.WebhookProblem);
    }

    /// <summary>Cuts text that may repeat a request's content to a length that is safe to send back.</summary>
    public static string? Echo(string? text) => text is null || text.Length <= MaxEcho ? text : string.Concat(text.AsSpan(0, MaxEcho), "…");

    public static bool IsJson(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
            return false;
        var mediaType = contentType.AsSpan();
        var semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
            mediaType = mediaType[..semicolon];
        mediaType = mediaType.Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    private static Task WriteAsync<T>(HttpContext context, int status, string contentType, T value, JsonTypeInfo<T> typeInfo)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        var buffer = t_buffer ?? new ArrayBufferWriter<byte>(256);
        var writer = t_writer;
        t_buffer = null;
        t_writer = null;
        buffer.ResetWrittenCount();
        if (writer is null)
            writer = new Utf8JsonWriter(buffer);
        else
            writer.Reset(buffer);
        JsonSerializer.Serialize(writer, value, typeInfo);
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity <= 16 * 1024)
        {
            t_buffer = buffer;
            t_writer = writer;
        }
        response.ContentLength = bytes.Length;
        return response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
