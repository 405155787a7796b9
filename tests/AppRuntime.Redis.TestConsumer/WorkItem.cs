using System.Text.Json.Serialization;

namespace AppRuntime.Redis.TestConsumer;

/// <summary>The task the Redis integration tests publish and the consumer processes handle.</summary>
public sealed record WorkItem(int Number, string Text);

/// <summary>Source-generated JSON metadata for <see cref="WorkItem"/>.</summary>
[JsonSerializable(typeof(WorkItem))]
public sealed partial class WorkItemJsonContext : JsonSerializerContext;

/// <summary>Names shared by the tests and the consumer process.</summary>
public static class WorkItems
{
    /// <summary>The logical task type.</summary>
    public const string TaskType = "work-item";

    /// <summary>The serializer every test queue uses.</summary>
    public static TaskSerializer<WorkItem> Serializer { get; } = new JsonTaskSerializer<WorkItem>(WorkItemJsonContext.Default.WorkItem);

    /// <summary>HASH task id → times handled (written before the ack, so it survives a kill between handling and ack).</summary>
    public static string HandledKey(string recordPrefix) => recordPrefix + ":handled";

    /// <summary>HASH consumer name → tasks it handled.</summary>
    public static string ByConsumerKey(string recordPrefix) => recordPrefix + ":by-consumer";

    /// <summary>SET of consumer names whose loops are running.</summary>
    public static string ReadyKey(string recordPrefix) => recordPrefix + ":ready";
}
