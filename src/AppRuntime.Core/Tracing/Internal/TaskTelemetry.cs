using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AppRuntime.Internal;

/// <summary>
/// The task counters and the recent-trace record, owned by <see cref="TraceService"/>: every place that publishes, processes or
/// counts a source event goes through here, so the instrument and tag names live in one place.
/// </summary>
internal sealed class TaskTelemetry
{
    private readonly Counter<long> _published;
    private readonly Counter<long> _processed;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _deadLettered;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _sourceEvents;
    private readonly RecentTraceBuffer _recent;

    public TaskTelemetry(Meter meter, RecentTraceBuffer recent)
    {
        _published = meter.CreateCounter<long>("appruntime.tasks.published", "{task}", "Tasks published into queues.");
        _processed = meter.CreateCounter<long>("appruntime.tasks.processed", "{task}", "Tasks whose handler succeeded.");
        _failed = meter.CreateCounter<long>("appruntime.tasks.failed", "{task}", "Handler failures (each failed attempt).");
        _deadLettered = meter.CreateCounter<long>("appruntime.tasks.dead_lettered", "{task}", "Tasks moved to a dead-letter store.");
        _duration = meter.CreateHistogram<double>("appruntime.task.duration", "s", "Handler processing time.");
        _sourceEvents = meter.CreateCounter<long>("appruntime.source.events", "{event}", "Source events such as polls, IDLE wake-ups and reconnects.");
        _recent = recent;
    }

    public static KeyValuePair<string, object?> QueueTag(string queue) => new(TelemetryTags.DestinationName, queue);

    public void Published(string queue) => _published.Add(1, QueueTag(queue));

    public void Published(string queue, int count) => _published.Add(count, QueueTag(queue));

    public void Succeeded(string queue) => _processed.Add(1, QueueTag(queue));

    public void Failed(string queue) => _failed.Add(1, QueueTag(queue));

    public void DeadLettered(string queue) => _deadLettered.Add(1, QueueTag(queue));

    public void SourceEvent(string source, string name) =>
        _sourceEvents.Add(1, new KeyValuePair<string, object?>(TelemetryTags.Source, source), new KeyValuePair<string, object?>(TelemetryTags.SourceEvent, name));

    /// <summary>Ends one delivery: its duration, the outcome on its span, and the record the control plane lists.</summary>
    public void Completed<T>(string queue, TaskEnvelope<T> envelope, Activity? activity, TaskOutcome outcome, TimeSpan duration, DateTimeOffset completedAt,
        string? error)
    {
        _duration.Record(duration.TotalSeconds, QueueTag(queue));
        activity?.SetTag(TelemetryTags.Outcome, outcome.ToName());
        if (activity is not null)
            _recent.Add(queue, envelope.Id, activity.TraceId, null, envelope.Attempt, outcome, duration, completedAt, error);
        else if (envelope.Headers is TraceHeaders own)
            _recent.Add(queue, envelope.Id, own.Context.TraceId, null, envelope.Attempt, outcome, duration, completedAt, error);
        else
            _recent.Add(queue, envelope.Id, default, TraceIdText(envelope.Headers), envelope.Attempt, outcome, duration, completedAt, error);
    }

    /// <summary>The trace id inside a <c>traceparent</c> header (<c>00-{trace-id}-{span-id}-{flags}</c>), if there is one.</summary>
    private static string? TraceIdText(IReadOnlyDictionary<string, string> headers) =>
        headers.Count > 0 && headers.TryGetValue(TaskHeaders.TraceParent, out var tp) && tp.Length >= 35 ? tp.Substring(3, 32) : null;
}
