using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AppRuntime;

/// <summary>Turns task payloads into bytes and back, for durable backends. Generated code supplies one per task type.</summary>
/// <typeparam name="T">The task type.</typeparam>
public abstract class TaskSerializer<T>
{
    /// <summary>Serializes a payload.</summary>
    public abstract byte[] Serialize(T payload);

    /// <summary>Deserializes a payload; throws <see cref="TaskDeserializationException"/> with the reason when the bytes are not a valid task.</summary>
    public abstract T Deserialize(ReadOnlySpan<byte> data);
}

/// <summary>A <see cref="TaskSerializer{T}"/> over System.Text.Json source-generated metadata (no reflection).</summary>
/// <typeparam name="T">The task type.</typeparam>
public sealed class JsonTaskSerializer<T> : TaskSerializer<T>
{
    private readonly JsonTypeInfo<T> _typeInfo;

    /// <summary>Creates a serializer from source-generated type metadata.</summary>
    public JsonTaskSerializer(JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        _typeInfo = typeInfo;
    }

    /// <inheritdoc />
    public override byte[] Serialize(T payload) => JsonSerializer.SerializeToUtf8Bytes(payload, _typeInfo);

    /// <inheritdoc />
    public override T Deserialize(ReadOnlySpan<byte> data)
    {
        try
        {
            var value = JsonSerializer.Deserialize(data, _typeInfo);
            return value ?? throw new TaskDeserializationException($"Payload of type {typeof(T).Name} was JSON null.");
        }
        catch (JsonException ex)
        {
            throw new TaskDeserializationException($"Payload is not a valid {typeof(T).Name}: {ex.Message}", ex);
        }
    }
}

/// <summary>Raised when stored bytes cannot be turned back into a task. Such tasks are dead-lettered, never retried.</summary>
public sealed class TaskDeserializationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskDeserializationException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public TaskDeserializationException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception.</summary>
    public TaskDeserializationException() { }
}
