namespace AppRuntime;

/// <summary>
/// Marks a class implementing <see cref="IScheduledSource{T}"/> as a scheduled source of a queue: the runtime publishes one task per
/// occurrence of <see cref="Cron"/> in <see cref="TimeZone"/>, with the task id <c>&lt;source&gt;:&lt;occurrence in UTC&gt;</c>, once
/// across every instance sharing a durable queue. The generator checks the expression and the time zone at build (APPRT0050–APPRT0053).
/// Configuration overrides the schedule per source: <c>AppRuntime:Sources:&lt;name&gt;:Cron</c>, <c>:TimeZone</c>, <c>:Missed</c>,
/// <c>:Overlap</c>, <c>:MisfireThreshold</c> (see docs/scheduling.md).
/// </summary>
/// <param name="queue">The queue the tasks go to.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ScheduledSourceAttribute(string queue) : Attribute
{
    /// <summary>The queue the tasks go to.</summary>
    public string Queue { get; } = queue;

    /// <summary>The source name; the class name in kebab case when unset.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// The cron expression (Cronos): five fields (minute hour day-of-month month day-of-week) or six with seconds first, or a macro
    /// such as <c>@daily</c>. Required.
    /// </summary>
    public string? Cron { get; set; }

    /// <summary>The IANA time-zone id the expression is evaluated in, e.g. <c>Europe/Berlin</c>. Default <c>UTC</c>.</summary>
    public string TimeZone { get; set; } = ScheduledSourceDefinition.DefaultTimeZone;

    /// <summary>What happens to occurrences that no instance fired in time. Default <see cref="MissedPolicy.Skip"/>.</summary>
    public MissedPolicy Missed { get; set; } = MissedPolicy.Skip;

    /// <summary>What happens to an occurrence while the previous task of the source is unsettled. Default <see cref="OverlapPolicy.Allow"/>.</summary>
    public OverlapPolicy Overlap { get; set; } = OverlapPolicy.Allow;
}

/// <summary>What a scheduled source does with occurrences that nobody fired in time (no instance was running, or it was too late).</summary>
public enum MissedPolicy
{
    /// <summary>They are skipped and counted (<see cref="SourceSchedule.Missed"/>); the schedule goes on from now.</summary>
    Skip = 0,

    /// <summary>One catch-up task is published for the missed span (at start, or when the source falls behind), carrying the missed occurrence times.</summary>
    RunOnce = 1,
}

/// <summary>What a scheduled source does when an occurrence comes while the previous task it published is not settled.</summary>
public enum OverlapPolicy
{
    /// <summary>The task is published anyway; tasks queue up.</summary>
    Allow = 0,

    /// <summary>The occurrence is skipped and counted (<see cref="SourceSchedule.Skipped"/>) while the previous task is unsettled.</summary>
    Skip = 1,
}
