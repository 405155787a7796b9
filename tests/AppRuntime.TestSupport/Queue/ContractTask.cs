using System.Text.Json.Serialization;

namespace AppRuntime.TestSupport;

/// <summary>The task type the queue contract suite publishes. Durable backends serialize it with <see cref="Serializer"/>.</summary>
/// <param name="Number">A number that identifies the task within a test.</param>
/// <param name="Text">Some text, rendered in dead-letter listings.</param>
public sealed record ContractTask(int Number, string Text)
{
    /// <summary>The logical task type name the suite uses for its queues and envelopes.</summary>
    public const string TaskTypeName = "contract-task";

    /// <summary>A source-generated (reflection-free) JSON serializer for the task.</summary>
    public static TaskSerializer<ContractTask> Serializer { get; } = new JsonTaskSerializer<ContractTask>(ContractTaskJsonContext.Default.ContractTask);
}

/// <summary>System.Text.Json source-generated metadata for <see cref="ContractTask"/>.</summary>
[JsonSerializable(typeof(ContractTask))]
public sealed partial class ContractTaskJsonContext : JsonSerializerContext;
