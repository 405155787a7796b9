using System.Diagnostics;
using System.Diagnostics.Metrics;
using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// Creates the runtime's spans and carries trace context inside task envelopes (W3C <c>traceparent</c>), so
/// source → queue → worker → handler is one trace even across processes. Transport-agnostic: exporters live in adapters
/// and subscribe to the <c>AppRuntime</c> ActivitySource and Meter.
/// </summary>
public sealed class TraceService : ITraceFactory, IDisposable
{
    /// <summary>The ActivitySource and Meter name.</summary>
    public const string SourceName = "AppRuntime";

    /// <summary>The <c>messaging.system</c> value on runtime spans.</summary>
    public const string MessagingSystem = "appruntime";

    private static readonly string s_version = typeof(TraceService).Assembly.GetName().Version?.ToString() ?? "0.0.0";
    private readonly List<Func<CancellationToken, ValueTask>> _flushers = [];
    private readonly RecentTraceBuffer _recent = new(256);

    /// <summary>Creates the service.</summary>
    public TraceService()
    {
        ActivitySource = new ActivitySource(SourceName, s_version);
        Meter = new Meter(SourceName, s_version);
        Tasks = new TaskTelemetry(Meter, _recent);
    }

    /// <summary>The runtime's ActivitySource (<c>AppRuntime</c>).</summary>
    public ActivitySource ActivitySource { get; }

    /// <summary>The runtime's Meter (<c>AppRuntime</c>).</summary>
    public Meter Meter { get; }

    /// <summary>The task counters and recent-trace record.</summary>
    internal TaskTelemetry Tasks { get; }

    /// <summary>The most recent processed tasks with their trace ids, newest first (bounded).</summary>
    public IReadOnlyList<TaskTraceRecord> GetRecent(int max = 100) => _recent.Snapshot(max);

    /// <inheritdoc />
    public Activity? StartActivity(string name, ActivityKind kind = ActivityKind.Internal, IEnumerable<KeyValuePair<string, object?>>? tags = null) =>
        ActivitySource.StartActivity(name, kind, parentContext: default, tags);

    /// <inheritdoc />
    public Activity? StartActivity(string name, ActivityKind kind, ActivityContext parentContext, IEnumerable<KeyValuePair<string, object?>>? tags = null,
        IEnumerable<ActivityLink>? links = null) =>
        ActivitySource.StartActivity(name, kind, parentContext, tags, links);

    /// <summary>Registers a callback that flushes exported telemetry; called when the runtime stops.</summary>
    public void RegisterFlush(Func<CancellationToken, ValueTask> flush)
    {
        ArgumentNullException.ThrowIfNull(flush);
        lock (_flushers)
            _flushers.Add(flush);
    }

    /// <summary>Runs every registered flush callback.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        Func<CancellationToken, ValueTask>[] flushers;
        lock (_flushers)
            flushers = [.. _flushers];
        foreach (var flush in flushers)
            await flush(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts the producer span of a publish and returns the headers to store in the envelope: the caller's headers plus
    /// the W3C trace context of the publish span (or of the current activity when nobody listens).
    /// </summary>
    internal Activity? StartPublish(string queue, string taskId, string? sourceName, IReadOnlyDictionary<string, string>? extraHeaders, out IReadOnlyDictionary<string, string> headers)
    {
        var activity = ActivitySource.StartActivity(SpanNames.Publish(queue), ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TelemetryTags.MessagingSystem, MessagingSystem);
            activity.SetTag(TelemetryTags.DestinationName, queue);
            activity.SetTag(TelemetryTags.OperationType, "send");
            activity.SetTag(TelemetryTags.OperationName, "publish");
            activity.SetTag(TelemetryTags.MessageId, taskId);
            if (sourceName is not null)
                activity.SetTag(TelemetryTags.Source, sourceName);
        }

        var context = activity ?? Activity.Current;
        if (context is null)
        {
            headers = sourceName is null && extraHeaders is null ? TaskHeaders.Empty : Merge(extraHeaders, sourceName);
            return activity;
        }
        if (IsDefaultPropagator(DistributedContextPropagator.Current) && HasNoBaggage(context))
        {
            headers = new TraceHeaders(context.Context, sourceName, extraHeaders);
            return activity;
        }

        var dict = Merge(extraHeaders, sourceName);
        DistributedContextPropagator.Current.Inject(context, dict, static (carrier, key, value) =>
        {
            if (carrier is Dictionary<string, string> d && value is not null)
                d[key] = value;
        });
        headers = dict;
        return activity;
    }

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string>? extraHeaders, string? sourceName)
    {
        var dict = extraHeaders is null
            ? new Dictionary<string, string>(3, StringComparer.Ordinal)
            : new Dictionary<string, string>(extraHeaders, StringComparer.Ordinal);
        if (sourceName is not null)
            dict[TaskHeaders.Source] = sourceName;
        return dict;
    }

    private static readonly Type s_defaultPropagatorType = DistributedContextPropagator.CreateDefaultPropagator().GetType();

    /// <summary>Whether the process uses the W3C propagator .NET starts with, whose output <see cref="TraceHeaders"/> reproduces.</summary>
    private static bool IsDefaultPropagator(DistributedContextPropagator propagator) => propagator.GetType() == s_defaultPropagatorType;

    /// <summary>
    /// True when the activity chain has no baggage. Activity returns one shared empty array in that case; anything else
    /// (an iterator over real baggage) takes the propagator path, which writes the <c>baggage</c> header.
    /// </summary>
    private static bool HasNoBaggage(Activity activity) => activity.Baggage is KeyValuePair<string, string?>[] { Length: 0 };

    /// <summary>Starts the consumer span of one delivery, parented to the publish span found in the envelope headers.</summary>
    internal Activity? StartProcess<T>(TaskEnvelope<T> envelope, string queue)
    {
        if (!ActivitySource.HasListeners())
            return null;
        ActivityContext parent = default;
        if (envelope.Headers is TraceHeaders own)
        {
            var c = own.Context;
            parent = new ActivityContext(c.TraceId, c.SpanId, c.TraceFlags, c.TraceState, isRemote: true);
        }
        else if (envelope.Headers.TryGetValue(TaskHeaders.TraceParent, out var traceParent))
        {
            envelope.Headers.TryGetValue(TaskHeaders.TraceState, out var traceState);
            ActivityContext.TryParse(traceParent, traceState, isRemote: true, out parent);
        }
        var activity = ActivitySource.StartActivity(SpanNames.Process(queue), ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TelemetryTags.MessagingSystem, MessagingSystem);
            activity.SetTag(TelemetryTags.DestinationName, queue);
            activity.SetTag(TelemetryTags.OperationType, "process");
            activity.SetTag(TelemetryTags.MessageId, envelope.Id);
            activity.SetTag(TelemetryTags.DeliveryAttempt, envelope.Attempt);
            activity.SetTag(TelemetryTags.TaskType, envelope.TaskType);
        }
        return activity;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ActivitySource.Dispose();
        Meter.Dispose();
    }
}

/// <summary>One processed task as the trace buffer remembers it.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="TaskId">The task id.</param>
/// <param name="TraceId">The W3C trace id, when the task carried one.</param>
/// <param name="Attempt">The attempt.</param>
/// <param name="Outcome">How the delivery ended.</param>
/// <param name="Duration">Handler time.</param>
/// <param name="CompletedAt">When it ended.</param>
/// <param name="Error">The error, if it failed.</param>
public sealed record TaskTraceRecord(string Queue, string TaskId, string? TraceId, int Attempt, TaskOutcome Outcome, TimeSpan Duration, DateTimeOffset CompletedAt, string? Error);

/// <summary>
/// A fixed ring of the most recent task records, written by every worker of every pool without a lock and without an
/// allocation: a writer claims the next sequence number, marks its slot as being written, fills it and stores the sequence
/// in it. A reader copies a slot and keeps the copy only when the slot held the expected sequence before and after the copy,
/// so a record overwritten while it was read is left out of that snapshot rather than shown torn.
/// </summary>
internal sealed class RecentTraceBuffer(int capacity)
{
    private const long Writing = -1;
    private readonly Slot[] _slots = CreateSlots(capacity);
    private long _next;

    private static Slot[] CreateSlots(int capacity)
    {
        var slots = new Slot[capacity];
        for (var i = 0; i < slots.Length; i++)
            slots[i].Sequence = Writing - 1;   // never written
        return slots;
    }

    public void Add(string queue, string taskId, ActivityTraceId traceId, string? traceIdText, int attempt, TaskOutcome outcome, TimeSpan duration,
        DateTimeOffset completedAt, string? error)
    {
        var sequence = Interlocked.Increment(ref _next) - 1;
        ref var slot = ref _slots[sequence % _slots.Length];
        var previous = Interlocked.Exchange(ref slot.Sequence, Writing);
        if (previous == Writing)
            return;   // another writer, a whole lap ahead or behind, is filling this slot: this diagnostic record is skipped
        if (previous > sequence)
        {
            // A newer record already took this slot (this writer was stalled for a whole lap): keep the newer one.
            Volatile.Write(ref slot.Sequence, previous);
            return;
        }
        slot.Queue = queue;
        slot.TaskId = taskId;
        slot.TraceId = traceId;
        slot.TraceIdText = traceIdText;
        slot.Attempt = attempt;
        slot.Outcome = outcome;
        slot.Duration = duration;
        slot.CompletedAt = completedAt;
        slot.Error = error;
        Volatile.Write(ref slot.Sequence, sequence);
    }

    public IReadOnlyList<TaskTraceRecord> Snapshot(int max)
    {
        var next = Volatile.Read(ref _next);
        var count = (int)Math.Min(Math.Min(next, _slots.Length), Math.Max(0, max));
        var result = new List<TaskTraceRecord>(count);
        for (var sequence = next - 1; sequence >= next - count; sequence--)
        {
            ref var slot = ref _slots[sequence % _slots.Length];
            if (Volatile.Read(ref slot.Sequence) != sequence)
                continue;
            var copy = slot;
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref slot.Sequence) != sequence)
                continue;
            var traceId = copy.TraceIdText ?? (copy.TraceId == default ? null : copy.TraceId.ToHexString());
            result.Add(new TaskTraceRecord(copy.Queue!, copy.TaskId!, traceId, copy.Attempt, copy.Outcome, copy.Duration, copy.CompletedAt, copy.Error));
        }
        return result;
    }

    private struct Slot
    {
        public long Sequence;
        public string? Queue;
        public string? TaskId;
        public ActivityTraceId TraceId;
        public string? TraceIdText;
        public int Attempt;
        public TaskOutcome Outcome;
        public TimeSpan Duration;
        public DateTimeOffset CompletedAt;
        public string? Error;
    }
}
