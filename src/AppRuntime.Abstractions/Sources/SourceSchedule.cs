namespace AppRuntime;

/// <summary>One instant of a schedule, in UTC and in the schedule's time zone.</summary>
/// <param name="Utc">The instant in UTC.</param>
/// <param name="Local">The same instant with the offset of the schedule's time zone at that moment.</param>
public sealed record ScheduleTime(DateTimeOffset Utc, DateTimeOffset Local);

/// <summary>
/// What a scheduled source reports about its schedule (<see cref="ITaskSourceContext{T}.ReportSchedule"/>), shown in
/// <see cref="SourceSnapshot.Schedule"/>. Counters are this process's; <see cref="LastFired"/> is the backend's record, shared by
/// every instance.
/// </summary>
public sealed record SourceSchedule
{
    /// <summary>The cron expression in effect (the declaration's, or <c>AppRuntime:Sources:&lt;name&gt;:Cron</c>).</summary>
    public required string Cron { get; init; }

    /// <summary>The IANA time-zone id the expression is evaluated in.</summary>
    public required string TimeZone { get; init; }

    /// <summary>What happens to occurrences nobody fired in time: <c>Skip</c> or <c>RunOnce</c>.</summary>
    public string MissedPolicy { get; init; } = "Skip";

    /// <summary>What happens to an occurrence while the previous task is unsettled: <c>Allow</c> or <c>Skip</c>.</summary>
    public string OverlapPolicy { get; init; } = "Allow";

    /// <summary>The next occurrences (up to three), soonest first; empty when the expression matches no further date.</summary>
    public IReadOnlyList<ScheduleTime> Next { get; init; } = [];

    /// <summary>The last occurrence recorded as fired (by any instance), or null when none was recorded yet.</summary>
    public ScheduleTime? LastFired { get; init; }

    /// <summary>Occurrences this process published a task for (catch-up tasks included).</summary>
    public long Fired { get; init; }

    /// <summary>Occurrences another instance had published already (the deduplicated publish found the task id taken).</summary>
    public long FiredElsewhere { get; init; }

    /// <summary>Occurrences skipped because the previous task of the source was still unsettled (overlap policy <c>Skip</c>).</summary>
    public long Skipped { get; init; }

    /// <summary>Occurrences skipped while an operator had paused the source in this process.</summary>
    public long SkippedWhilePaused { get; init; }

    /// <summary>Occurrences missed (no instance fired them in time): skipped, or folded into a catch-up task with <c>RunOnce</c>.</summary>
    public long Missed { get; init; }

    /// <summary>Catch-up tasks this process published (<c>RunOnce</c>).</summary>
    public long CatchUps { get; init; }
}
