using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Internal;

/// <summary>
/// Finds the provider's event id of a request: in a header, in a JSON member of the body, or (when the source names neither) the
/// SHA-256 of the body. An id is 1-200 visible ASCII characters; anything else is refused (it becomes part of a task id and of
/// backend keys).
/// </summary>
internal sealed class EventIds
{
    public const int MaxLength = 200;

    private readonly string? _header;
    private readonly string[]? _path;

    public EventIds(WebhookSourceDefinition definition)
    {
        _header = definition.EffectiveEventIdHeader;
        _path = definition.EffectiveEventIdJsonPath?.Split('.');
    }

    /// <summary>Where the id comes from, for messages: <c>header 'X'</c>, <c>JSON member 'a.b'</c> or <c>the body's SHA-256</c>.</summary>
    public string Describe() => _header is not null ? $"header '{_header}'" : _path is not null ? $"JSON member '{string.Join('.', _path)}'" : "the body's SHA-256";

    /// <summary>True when the id is read from the body (after it was checked to be JSON).</summary>
    public bool FromBody => _header is null;

    /// <summary>The id from the header, or null with <paramref name="problem"/> set. Only when <see cref="FromBody"/> is false.</summary>
    public string? FromHeaders(IHeaderDictionary headers, out string? problem)
    {
        problem = null;
        if (!headers.TryGetValue(_header!, out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            problem = $"The event id header '{_header}' is missing.";
            return null;
        }
        if (values.Count > 1)
        {
            problem = $"The event id header '{_header}' is repeated.";
            return null;
        }
        return Check(values[0]!.Trim(), out problem);
    }

    /// <summary>The id from the body (JSON member or hash), or null with <paramref name="problem"/> set.</summary>
    public string? FromBodyBytes(ReadOnlySpan<byte> body, out string? problem)
    {
        problem = null;
        if (_path is null)
            return "sha256-" + Convert.ToHexStringLower(SHA256.HashData(body));
        string? value;
        try
        {
            value = Find(body, _path);
        }
        catch (JsonException)
        {
            value = null;
        }
        if (value is null)
        {
            problem = $"The event id member '{string.Join('.', _path)}' is missing or is not a string or a number.";
            return null;
        }
        return Check(value, out problem);
    }

    private string? Check(string id, out string? problem)
    {
        problem = null;
        if (id.Length is 0 or > MaxLength)
        {
            problem = $"The event id ({Describe()}) must have 1 to {MaxLength} characters.";
            return null;
        }
        foreach (var c in id)
        {
            if (c is < '!' or > '~')
            {
                problem = $"The event id ({Describe()}) must be visible ASCII characters only.";
                return null;
            }
        }
        return id;
    }

    /// <summary>The string or number at the dotted member path, or null.</summary>
    private static string? Find(ReadOnlySpan<byte> json, string[] path)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return null;
        var level = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
                return null;
            if (reader.TokenType != JsonTokenType.PropertyName)
                return null;
            var match = reader.ValueTextEquals(path[level]);
            reader.Read();
            if (!match)
            {
                reader.Skip();
                continue;
            }
            if (level == path.Length - 1)
            {
                return reader.TokenType switch
                {
                    JsonTokenType.String => reader.GetString(),
                    JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan),
                    _ => null,
                };
            }
            if (reader.TokenType != JsonTokenType.StartObject)
                return null;
            level++;
        }
        return null;
    }
}
