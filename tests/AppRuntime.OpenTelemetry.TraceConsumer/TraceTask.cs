using System.Text.Json.Serialization;

namespace AppRuntime.OpenTelemetry.TraceConsumer;

/// <summary>The task of the cross-process trace test (shared by the producer test and this consumer).</summary>
public sealed record TraceTask(int Number);

/// <summary>Source-generated JSON metadata for <see cref="TraceTask"/>.</summary>
[JsonSerializable(typeof(TraceTask))]
public sealed partial class TraceTaskJsonContext : JsonSerializerContext;

/// <summary>The task serializer both processes use.</summary>
public static class TraceTaskJson
{
    /// <summary>The serializer.</summary>
    public static TaskSerializer<TraceTask> Serializer { get; } = new JsonTaskSerializer<TraceTask>(TraceTaskJsonContext.Default.TraceTask);
}
