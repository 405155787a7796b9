using System.Globalization;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Runs one scheduled source: waits for each occurrence on the context's clock, publishes its task with the id
/// <c>&lt;source&gt;:&lt;occurrence in UTC&gt;</c> through the deduplicated publish (so instances sharing a durable queue publish it
/// once), records the last fired occurrence as a checkpoint in the queue's backend, and applies the missed and overlap policies.
/// </summary>
/// <remarks>
/// <para>Occurrences are searched strictly after a cursor: at start the last fired occurrence recorded in the backend (or now when
/// none is), then each occurrence handled. Every due occurrence is either on time (reached within the misfire threshold: fired,
/// even if a little late) or missed (older: skipped and counted, or folded into one catch-up task with <see cref="MissedPolicy.RunOnce"/>).</para>
/// <para>A valid configuration reload takes effect from the next occurrence: the cursor moves to now and the next occurrence is
/// searched with the new schedule. An invalid reload is refused by the configuration manager, so the schedule goes on unchanged.</para>
/// <para>Checkpoints: <c>schedule.lastFired</c> (the last occurrence an instance handled: published, found published by another
/// instance, skipped by the overlap policy or missed with <see cref="MissedPolicy.Skip"/>) and <c>schedule.lastTask</c> (the occurrence
/// of the last task published, which the overlap policy looks up). Both only move forward.</para>
/// </remarks>
internal sealed partial class ScheduledTaskSource<T> : ITaskSource<T>
{
    internal const string LastFiredCheckpoint = "schedule.lastFired";
    internal const string LastTaskCheckpoint = "schedule.lastTask";

    /// <summary>
    /// The source's detail <c>waitingFor</c>: the occurrence (UTC) its timer is armed for, set once the timer is armed and cleared
    /// while it computes or fires (a test on a fake clock moves the clock only when it names the expected occurrence).
    /// </summary>
    internal const string WaitingForDetail = "waitingFor";

    private static readonly Dictionary<string, string> NotWaiting = new(StringComparer.Ordinal) { [WaitingForDetail] = "" };

    /// <summary>The longest single wait: long waits are cut so a wall-clock step (NTP, a resumed VM) is noticed within a minute.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(1);

    /// <summary>Added to every deduplication window, for clock skew between instances.</summary>
    private static readonly TimeSpan WindowMargin = TimeSpan.FromMinutes(1);

    /// <summary>Missed occurrences counted for one span, at most (a 1-second schedule stopped for 11 days).</summary>
    private const int MaxCountedMissed = 1_000_000;

    private readonly string _name;
    private readonly IScheduledSource<T> _source;
    private readonly IConfigSection<ScheduleSettings> _settings;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset? _lastFired;
    private DateTimeOffset? _lastTask;
    private long _fired;
    private long _firedElsewhere;
    private long _skipped;
    private long _skippedWhilePaused;
    private long _missed;
    private long _catchUps;
    private bool _reportedNever;

    public ScheduledTaskSource(string name, IScheduledSource<T> source, IConfigSection<ScheduleSettings> settings, ILogger logger)
    {
        _name = name;
        _source = source;
        _settings = settings;
        _logger = logger;
    }

    public async Task RunAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var time = context.TimeProvider;
        using var subscription = _settings.OnChange(_ => SignalChange());
        var applied = _settings.Current;
        _lastFired = await ReadCheckpointAsync(context, LastFiredCheckpoint, cancellationToken).ConfigureAwait(false);
        _lastTask = await ReadCheckpointAsync(context, LastTaskCheckpoint, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        // Without a record this is the schedule's first run anywhere: nothing was missed. With one, what came after it is due now.
        var cursor = _lastFired is { } recorded && recorded <= now ? recorded : now;
        var caughtUp = false;

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            context.ReportHealthy("scheduling", NotWaiting);
            var changed = ChangeSignal();
            var settings = _settings.Current;
            if (!ReferenceEquals(settings, applied))
            {
                if (!settings.Schedule.Equals(applied.Schedule))
                {
                    // A valid reload: the new schedule applies from the next occurrence, counted from now.
                    var at = time.GetUtcNow();
                    if (at > cursor)
                        cursor = at;
                    Log.ScheduleChanged(_logger, _name, applied.Schedule.ToString(), settings.Schedule.ToString());
                    _reportedNever = false;
                }
                applied = settings;
            }

            var schedule = settings.Schedule;
            var next = schedule.GetNextOccurrence(cursor);
            Report(context, settings, cursor);
            if (!caughtUp && (next is null || next.Value > time.GetUtcNow()))
            {
                // Everything missed before start has been dealt with: the source has looked at all its input once.
                caughtUp = true;
                context.ReportCaughtUp();
            }
            if (next is null)
            {
                if (!_reportedNever)
                {
                    _reportedNever = true;
                    Log.NeverFires(_logger, _name, schedule.ToString());
                }
                await WaitAsync(Timeout.InfiniteTimeSpan, changed, time, () => context.ReportHealthy("never", NotWaiting), cancellationToken).ConfigureAwait(false);
                continue;
            }

            now = time.GetUtcNow();
            if (next.Value > now)
            {
                var wait = next.Value - now;
                if (wait > MaxWait)
                    wait = MaxWait;
                // Whole milliseconds, rounded up: a timer never fires before the occurrence because of rounding.
                wait = TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds));
                var waitingFor = new Dictionary<string, string>(StringComparer.Ordinal) { [WaitingForDetail] = ScheduledTaskIds.Format(next.Value) };
                await WaitAsync(wait, changed, time, () => context.ReportHealthy("waiting", waitingFor), cancellationToken).ConfigureAwait(false);
                continue;
            }

            context.ReportHealthy("firing", NotWaiting);
            cursor = await FireDueAsync(context, settings, cursor, now, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Handles every occurrence in (<paramref name="cursor"/>, <paramref name="now"/>]; returns the last one handled.</summary>
    private async Task<DateTimeOffset> FireDueAsync(ITaskSourceContext<T> context, ScheduleSettings settings, DateTimeOffset cursor, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var schedule = settings.Schedule;
        var cutoff = now - settings.MisfireThreshold;
        if (schedule.GetNextOccurrence(cursor) is { } firstDue && firstDue <= cutoff)
        {
            // Missed: due longer ago than the threshold (nobody ran, or this instance fell behind).
            var missed = CountMissed(schedule, cursor, cutoff, out var listed);
            var lastMissed = schedule.GetPreviousOccurrence(cutoff)!.Value;
            cursor = lastMissed;
            await HandleMissedAsync(context, settings, listed, missed, lastMissed, cancellationToken).ConfigureAwait(false);
        }
        while (schedule.GetNextOccurrence(cursor) is { } due && due <= now)
        {
            await FireAsync(context, settings, Occurrence(schedule, due), cancellationToken).ConfigureAwait(false);
            cursor = due;
        }
        return cursor;
    }

    private async Task HandleMissedAsync(ITaskSourceContext<T> context, ScheduleSettings settings, List<DateTimeOffset> listed, long count,
        DateTimeOffset lastMissed, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _missed, count);
        context.RecordEvent("missed");
        if (settings.Missed == MissedPolicy.RunOnce && !context.IsPaused)
        {
            Log.CatchingUp(_logger, _name, count, listed[0], lastMissed);
            var occurrence = Occurrence(settings.Schedule, lastMissed) with
            {
                IsCatchUp = true,
                MissedCount = count,
                MissedOccurrences = listed,
            };
            await FireAsync(context, settings, occurrence, cancellationToken).ConfigureAwait(false);
            return;
        }
        Log.Missed(_logger, _name, count, listed[0], lastMissed);
        if (!context.IsPaused)
            await AdvanceAsync(context, LastFiredCheckpoint, lastMissed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fires one occurrence (or a catch-up): the pause, the overlap policy, then the deduplicated publish.</summary>
    private async Task FireAsync(ITaskSourceContext<T> context, ScheduleSettings settings, ScheduledOccurrence occurrence, CancellationToken cancellationToken)
    {
        var at = occurrence.Time;
        if (context.IsPaused)
        {
            // An operator paused this instance: the occurrence is not published here (other instances still fire it) and not
            // recorded, so a restart with RunOnce may catch it up.
            Interlocked.Increment(ref _skippedWhilePaused);
            context.RecordEvent("skipped_paused");
            return;
        }

        if (settings.Overlap == OverlapPolicy.Skip)
        {
            var previous = await PreviousTaskAsync(context, cancellationToken).ConfigureAwait(false);
            if (previous is { } p && p >= at)
            {
                // Another instance published this occurrence (or a later one) already.
                Interlocked.Increment(ref _firedElsewhere);
                await AdvanceAsync(context, LastFiredCheckpoint, at, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (previous is { } unsettled && await context.IsUnsettledAsync(ScheduledTaskIds.For(_name, unsettled), cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _skipped);
                context.RecordEvent("skipped_overlap");
                Log.SkippedOverlap(_logger, _name, at, ScheduledTaskIds.For(_name, unsettled));
                await AdvanceAsync(context, LastFiredCheckpoint, at, cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        var task = _source.Create(occurrence);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ScheduledTaskIds.OccurrenceHeader] = ScheduledTaskIds.Format(at),
        };
        if (occurrence.IsCatchUp)
            headers[ScheduledTaskIds.MissedHeader] = occurrence.MissedCount.ToString(CultureInfo.InvariantCulture);
        var options = new TaskPublishOptions
        {
            Id = occurrence.TaskId,
            DeduplicationWindow = DeduplicationWindow(settings, at),
            Headers = headers,
        };
        var result = await context.TryPublishAsync(task, options, cancellationToken).ConfigureAwait(false);
        if (result.Published)
        {
            if (occurrence.IsCatchUp)
                Interlocked.Increment(ref _catchUps);
            else
                Interlocked.Increment(ref _fired);
            context.RecordEvent(occurrence.IsCatchUp ? "catch_up" : "fired");
            Log.Fired(_logger, _name, result.TaskId);
            // Once the task is in the queue its checkpoints are recorded even when the runtime is stopping (a stop waits for the
            // source to return): a restart must find the occurrence it fired, not treat it as missed.
            _lastTask = await AdvanceAsync(context, LastTaskCheckpoint, at, CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            Interlocked.Increment(ref _firedElsewhere);
            context.RecordEvent("fired_elsewhere");
        }
        await AdvanceAsync(context, LastFiredCheckpoint, at, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// How long the task id stays claimed: until the next occurrence has passed, plus the misfire threshold (an instance may still
    /// fire it that late) and a margin for clock skew; a restarted instance's catch-up uses the id of the last missed occurrence,
    /// which is the latest one, so this also covers a catch-up racing a late on-time publish.
    /// </summary>
    private static TimeSpan DeduplicationWindow(ScheduleSettings settings, DateTimeOffset at)
    {
        var gap = settings.Schedule.GetNextOccurrence(at) is { } next ? next - at : TimeSpan.FromDays(1);
        return gap + settings.MisfireThreshold + WindowMargin;
    }

    /// <summary>The occurrence of the last task published by any instance (the backend's record), or this instance's own when newer.</summary>
    private async Task<DateTimeOffset?> PreviousTaskAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken)
    {
        var recorded = await ReadCheckpointAsync(context, LastTaskCheckpoint, cancellationToken).ConfigureAwait(false);
        if (recorded is { } r && (_lastTask is not { } own || r > own))
            _lastTask = r;
        return _lastTask;
    }

    /// <summary>Moves a checkpoint forward to <paramref name="at"/> (never back); returns the value it holds afterwards.</summary>
    private async Task<DateTimeOffset> AdvanceAsync(ITaskSourceContext<T> context, string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var text = await context.GetCheckpointAsync(name, cancellationToken).ConfigureAwait(false);
            var current = ScheduledTaskIds.Parse(text);
            if (current is { } c && c >= at)
                return Remember(name, c);
            if (await context.TrySetCheckpointAsync(name, text, ScheduledTaskIds.Format(at), cancellationToken).ConfigureAwait(false))
                return Remember(name, at);
            if (attempt >= 20)
                throw new InvalidOperationException($"Scheduled source '{_name}': checkpoint '{name}' keeps changing; could not record {ScheduledTaskIds.Format(at)}.");
        }
    }

    private DateTimeOffset Remember(string name, DateTimeOffset value)
    {
        if (name == LastFiredCheckpoint)
            _lastFired = value;
        return value;
    }

    private static async Task<DateTimeOffset?> ReadCheckpointAsync(ITaskSourceContext<T> context, string name, CancellationToken cancellationToken) =>
        ScheduledTaskIds.Parse(await context.GetCheckpointAsync(name, cancellationToken).ConfigureAwait(false));

    /// <summary>Counts the occurrences in (<paramref name="after"/>, <paramref name="until"/>] and lists the first ones.</summary>
    private static long CountMissed(CronSchedule schedule, DateTimeOffset after, DateTimeOffset until, out List<DateTimeOffset> listed)
    {
        listed = [];
        long count = 0;
        var cursor = after;
        while (count < MaxCountedMissed && schedule.GetNextOccurrence(cursor) is { } next && next <= until)
        {
            if (listed.Count < ScheduledOccurrence.MaxListedMissed)
                listed.Add(next.ToUniversalTime());
            count++;
            cursor = next;
        }
        return count;
    }

    private ScheduledOccurrence Occurrence(CronSchedule schedule, DateTimeOffset at) =>
        new(_name, at.ToUniversalTime(), schedule.ToLocal(at), schedule.TimeZoneId);

    private void Report(ITaskSourceContext<T> context, ScheduleSettings settings, DateTimeOffset cursor)
    {
        var schedule = settings.Schedule;
        var next = schedule.GetNextOccurrences(cursor, 3).Select(t => new ScheduleTime(t.ToUniversalTime(), schedule.ToLocal(t))).ToList();
        context.ReportSchedule(new SourceSchedule
        {
            Cron = schedule.Expression,
            TimeZone = schedule.TimeZoneId,
            MissedPolicy = settings.Missed.ToString(),
            OverlapPolicy = settings.Overlap.ToString(),
            Next = next,
            LastFired = _lastFired is { } last ? new ScheduleTime(last, schedule.ToLocal(last)) : null,
            Fired = Interlocked.Read(ref _fired),
            FiredElsewhere = Interlocked.Read(ref _firedElsewhere),
            Skipped = Interlocked.Read(ref _skipped),
            SkippedWhilePaused = Interlocked.Read(ref _skippedWhilePaused),
            Missed = Interlocked.Read(ref _missed),
            CatchUps = Interlocked.Read(ref _catchUps),
        });
    }

    private Task ChangeSignal()
    {
        lock (_lock)
            return _changed.Task;
    }

    private void SignalChange()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    /// <summary>
    /// Waits for <paramref name="delay"/> on the context's clock, or until the settings change. <paramref name="armed"/> runs once the
    /// timer is set (the source's state turns <c>waiting</c> only then, so a test driving a fake clock knows when to move it).
    /// </summary>
    private static async Task WaitAsync(TimeSpan delay, Task changed, TimeProvider time, Action armed, CancellationToken cancellationToken)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delayed = Task.Delay(delay, time, wake.Token);
        armed();
        if (await Task.WhenAny(delayed, changed).ConfigureAwait(false) != delayed)
            await wake.CancelAsync().ConfigureAwait(false);
        try
        {
            await delayed.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Woken by a settings change.
        }
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Debug, "Scheduled source '{Source}' published {TaskId}")]
        public static partial void Fired(ILogger logger, string source, string taskId);

        [LoggerMessage(61, LogLevel.Information, "Scheduled source '{Source}' skipped the occurrence {Occurrence:o}: task {Previous} is not settled yet (overlap policy Skip)")]
        public static partial void SkippedOverlap(ILogger logger, string source, DateTimeOffset occurrence, string previous);

        [LoggerMessage(62, LogLevel.Warning, "Scheduled source '{Source}' missed {Count} occurrence(s) from {First:o} to {Last:o}; skipped (missed policy Skip)")]
        public static partial void Missed(ILogger logger, string source, long count, DateTimeOffset first, DateTimeOffset last);

        [LoggerMessage(63, LogLevel.Warning, "Scheduled source '{Source}' missed {Count} occurrence(s) from {First:o} to {Last:o}; publishing one catch-up task (missed policy RunOnce)")]
        public static partial void CatchingUp(ILogger logger, string source, long count, DateTimeOffset first, DateTimeOffset last);

        [LoggerMessage(64, LogLevel.Information, "Scheduled source '{Source}': schedule changed from {Old} to {New}; it applies from the next occurrence")]
        public static partial void ScheduleChanged(ILogger logger, string source, string old, string @new);

        [LoggerMessage(65, LogLevel.Warning, "Scheduled source '{Source}': {Schedule} matches no further date; the source will not fire until its schedule is changed")]
        public static partial void NeverFires(ILogger logger, string source, string schedule);
    }
}
