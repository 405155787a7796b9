namespace AppRuntime;

/// <summary>
/// Produces tasks into one queue (seed: start, stop, publish tasks, expose status). The runtime calls
/// <see cref="RunAsync"/> once the queues and worker pools are running and cancels the token to stop it.
/// </summary>
/// <typeparam name="T">The task type of the target queue.</typeparam>
public interface ITaskSource<T>
{
    /// <summary>Runs until <paramref name="cancellationToken"/> fires, publishing through <paramref name="context"/>.</summary>
    Task RunAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken);
}

/// <summary>What the runtime gives a running source.</summary>
/// <typeparam name="T">The task type.</typeparam>
public interface ITaskSourceContext<T>
{
    /// <summary>The source's name.</summary>
    string SourceName { get; }

    /// <summary>The queue it publishes to.</summary>
    string QueueName { get; }

    /// <summary>The clock to use for intervals and timestamps.</summary>
    TimeProvider TimeProvider { get; }

    /// <summary>
    /// Publishes one task with a producer trace span. Waits while the source is paused, the queue is full, or the queue's backend
    /// cannot be reached (a Redis outage: the source keeps what it holds, such as its IMAP session, and the publish goes through
    /// once the backend answers). For an exclusive source, throws <see cref="SourceLeaseLostException"/> when another instance leads.
    /// </summary>
    /// <returns>The task id.</returns>
    ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Publishes one task at most once per <see cref="TaskPublishOptions.Id"/> within <see cref="TaskPublishOptions.DeduplicationWindow"/>
    /// (both required): a duplicate publishes nothing and says so. Atomic on the queue's backend, so it holds across instances.
    /// </summary>
    ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This source context does not publish with deduplication.");

    /// <summary>Waits while the source is paused by an operator, its queue is above the high watermark, or the queue's backend cannot be reached.</summary>
    ValueTask WaitUntilReadyAsync(CancellationToken cancellationToken);

    /// <summary>True while an operator paused the source.</summary>
    bool IsPaused { get; }

    /// <summary>
    /// Records the source's state (for example <c>polling</c>, <c>idle</c>) and a successful check. <paramref name="details"/>
    /// update the details reported before (keys not given keep their last value).
    /// </summary>
    void ReportHealthy(string state, IReadOnlyDictionary<string, string>? details = null);

    /// <summary>
    /// Tells the runtime that the source has looked at all of its input once (its first poll or search finished). Together with
    /// every task it published being settled, this is what <c>RunMode.UntilDrained</c> (<c>--once</c>) waits for. A source
    /// whose <see cref="ITaskSource{T}.RunAsync"/> returns is caught up as well. The default does nothing.
    /// </summary>
    void ReportCaughtUp()
    {
    }

    /// <summary>Updates source-specific details (shown in the source's snapshot) without changing its state or health. The default does nothing.</summary>
    void ReportDetails(IReadOnlyDictionary<string, string> details)
    {
    }

    /// <summary>Records a failure; the source's health turns degraded until the next healthy report.</summary>
    void ReportError(string state, Exception error);

    /// <summary>
    /// Counts a source event for metrics (the <c>appruntime.source.events</c> counter, tagged with <paramref name="name"/>),
    /// for example <c>poll</c>, <c>idle_wakeup</c> or <c>reconnect</c>. The default does nothing.
    /// </summary>
    void RecordEvent(string name)
    {
    }

    /// <summary>
    /// True while the task with id <paramref name="taskId"/>, published by this source, is not settled yet: it is ready, delayed or
    /// in flight, not yet succeeded or dead-lettered. When the queue can look tasks up (<see cref="IPendingTaskLookup"/>: the Redis
    /// queue) the answer is the backend's, so it covers tasks published and settled by every instance sharing the queue;
    /// otherwise it is this process's view of what it published (exact for the in-memory queue). An id the source never
    /// published is settled. The default throws <see cref="NotSupportedException"/>.
    /// </summary>
    ValueTask<bool> IsUnsettledAsync(string taskId, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This source context does not track settlement.");

    /// <summary>
    /// <see cref="IsUnsettledAsync"/> for many tasks at once, answered in the order of <paramref name="taskIds"/>. A queue that can look
    /// tasks up answers a batch in a few round trips (<see cref="IPendingTaskLookup.ArePendingAsync"/>: one script call per 500 ids on
    /// Redis). The default asks <see cref="IsUnsettledAsync"/> for each id, one after another.
    /// </summary>
    async ValueTask<bool[]> AreUnsettledAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        var answers = new bool[taskIds.Count];
        for (var i = 0; i < answers.Length; i++)
            answers[i] = await IsUnsettledAsync(taskIds[i], cancellationToken).ConfigureAwait(false);
        return answers;
    }

    /// <summary>
    /// Reads the source's checkpoint <paramref name="name"/>: a small value the source keeps across restarts and shares with
    /// every instance of the application (for example the last occurrence a schedule fired). It is stored by the backend of the
    /// source's queue when the queue implements <see cref="ISourceCheckpointStore"/> (Redis), otherwise in the process's memory.
    /// Null when it was never set. The default throws <see cref="NotSupportedException"/>.
    /// </summary>
    ValueTask<string?> GetCheckpointAsync(string name, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This source context has no checkpoint store.");

    /// <summary>
    /// Sets the source's checkpoint <paramref name="name"/> to <paramref name="value"/> when it still holds
    /// <paramref name="expected"/> (null: never set), atomically across instances; false when another value was there (read it
    /// again and retry if needed). The default throws <see cref="NotSupportedException"/>.
    /// </summary>
    ValueTask<bool> TrySetCheckpointAsync(string name, string? expected, string value, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("This source context has no checkpoint store.");

    /// <summary>
    /// Reports the source's schedule (its next occurrences, the last fired, what it skipped), shown in the source's snapshot
    /// (<see cref="SourceSnapshot.Schedule"/>: <c>/api/sources</c> and the dashboard). Scheduled sources call it after every
    /// occurrence. The default does nothing.
    /// </summary>
    void ReportSchedule(SourceSchedule schedule)
    {
    }
}

/// <summary>Options for one publish.</summary>
public sealed record TaskPublishOptions
{
    /// <summary>The task id (an idempotency key such as a message id); a new GUID when null.</summary>
    public string? Id { get; init; }

    /// <summary>Extra headers.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>Deliver no earlier than this delay from now.</summary>
    public TimeSpan? Delay { get; init; }

    /// <summary>
    /// When set (with <see cref="Id"/>), the task is published at most once per id within this window: a publish of an id seen
    /// in the window publishes nothing (<see cref="PublishResult.Published"/> false). The id is remembered by the queue's
    /// backend (in Redis across instances and restarts; in memory in a bounded store of the process).
    /// </summary>
    public TimeSpan? DeduplicationWindow { get; init; }

    /// <summary>Refuses options that cannot apply to every task of a batch publish: an id, or a deduplication window.</summary>
    internal static void ThrowIfPerTask(TaskPublishOptions? options)
    {
        if (options?.Id is not null)
            throw new ArgumentException("A batch publish gives every task a new id: TaskPublishOptions.Id must be null.", nameof(options));
        if (options?.DeduplicationWindow is not null)
            throw new ArgumentException("A batch publish does not deduplicate: TaskPublishOptions.DeduplicationWindow must be null.", nameof(options));
    }
}

/// <summary>The result of a publish that may be deduplicated.</summary>
/// <param name="TaskId">The task id (for a duplicate: the id of the task published first).</param>
/// <param name="Published">True when this call published the task; false when it was a duplicate within the window.</param>
public readonly record struct PublishResult(string TaskId, bool Published);

/// <summary>A source's state as the runtime last saw it.</summary>
/// <param name="Name">The source name.</param>
/// <param name="Queue">The queue it publishes to.</param>
/// <param name="State">The last reported state, or a runtime state such as <c>paused</c>, <c>stopped</c>, <c>faulted</c>.</param>
/// <param name="Paused">True while an operator paused the source.</param>
/// <param name="Published">Tasks published.</param>
/// <param name="LastSuccessAt">When the source last reported success.</param>
/// <param name="LastError">The last error message.</param>
/// <param name="LastErrorAt">When it happened.</param>
/// <param name="Details">Source-specific details.</param>
public sealed record SourceSnapshot(
    string Name,
    string Queue,
    string State,
    bool Paused,
    long Published,
    DateTimeOffset? LastSuccessAt,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    IReadOnlyDictionary<string, string> Details)
{
    /// <summary>The schedule of a scheduled source, as it last reported it; null for other sources.</summary>
    public SourceSchedule? Schedule { get; init; }

    /// <summary>The source's leadership: whether this instance runs it (<c>leader</c>, <c>local</c>) or stands by (<c>standby</c>).</summary>
    public SourceLeadership? Leadership { get; init; }
}

/// <summary>Declares a source: its name and target queue.</summary>
/// <param name="Name">The source name.</param>
/// <param name="Queue">The queue it publishes to.</param>
public sealed record SourceDefinition(string Name, string Queue)
{
    /// <summary>Backoff before a faulted source is restarted (doubles up to <see cref="MaxRestartDelay"/>).</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest restart delay.</summary>
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// True: one instance at a time runs the source (it holds a lease in the queue's backend; the others stand by). False: every
    /// instance runs it. Null (the default): exclusive when the source implements <see cref="IExclusiveTaskSource"/>.
    /// <c>AppRuntime:Sources:&lt;name&gt;:Exclusive</c> overrides it.
    /// </summary>
    public bool? Exclusive { get; init; }

    /// <summary>
    /// How long an exclusive source's lease lasts unless renewed (the leader renews it every third of it): how soon another instance
    /// takes over after the leader died. Default 10 s; <c>AppRuntime:Sources:&lt;name&gt;:LeaseDuration</c> overrides it.
    /// </summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(10);
}
