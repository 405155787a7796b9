using System.Buffers;
using System.Text.Json;

namespace AppRuntime.Internal;

/// <summary>Writes and reads envelope headers as a flat JSON object of strings, without reflection.</summary>
internal static class HeaderCodec
{
    public static byte[] Encode(IReadOnlyDictionary<string, string> headers)
    {
        if (headers.Count == 0)
            return [];
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in headers)
                writer.WriteString(key, value);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="FormatException">The stored headers are not a JSON object of strings.</exception>
    public static IReadOnlyDictionary<string, string> Decode(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
            return TaskHeaders.Empty;
        try
        {
            var reader = new Utf8JsonReader(data);
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new FormatException("Stored headers are not a JSON object.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                    throw new FormatException($"Stored header '{name}' is not a string.");
                result[name] = reader.GetString()!;
            }
            return result;
        }
        catch (JsonException ex)
        {
            throw new FormatException("Stored headers are not valid JSON: " + ex.Message, ex);
        }
    }
}
