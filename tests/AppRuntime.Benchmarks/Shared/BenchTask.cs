using System.Text.Json.Serialization;

namespace AppRuntime.Benchmarks;

/// <summary>
/// The payload every row carries: a sequence number (index into the latency array) and the
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> taken just before publishing.
/// A class, so every framework moves a reference the same way.
/// </summary>
public sealed record BenchTask(long Seq, long PublishedAt);

/// <summary>Source-generated JSON metadata for the payloads (no reflection-based serialization).</summary>
[JsonSerializable(typeof(BenchTask))]
[JsonSerializable(typeof(OrderLike))]
[JsonSerializable(typeof(Micro.GenTaskStj))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>A business-sized payload for the serialization micro benchmark.</summary>
public sealed record OrderLike(string MessageId, string From, string Subject, string Body, int Lines, decimal Total, DateTimeOffset ReceivedAt);
