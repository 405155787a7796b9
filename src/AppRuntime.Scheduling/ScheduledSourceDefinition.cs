namespace AppRuntime;

/// <summary>A scheduled source as declared (by <see cref="ScheduledSourceAttribute"/> through generated code, or by hand).</summary>
/// <param name="Name">The source name.</param>
/// <param name="Queue">The queue the tasks go to.</param>
/// <param name="Cron">The cron expression (five fields, or six with seconds first).</param>
public sealed record ScheduledSourceDefinition(string Name, string Queue, string Cron)
{
    /// <summary>The time zone of a schedule that names none: <c>UTC</c>.</summary>
    public const string DefaultTimeZone = "UTC";

    /// <summary>The default <see cref="MisfireThreshold"/>: one minute.</summary>
    public static readonly TimeSpan DefaultMisfireThreshold = TimeSpan.FromMinutes(1);

    /// <summary>The IANA time-zone id the expression is evaluated in.</summary>
    public string TimeZone { get; init; } = DefaultTimeZone;

    /// <summary>What happens to occurrences that no instance fired in time.</summary>
    public MissedPolicy Missed { get; init; } = MissedPolicy.Skip;

    /// <summary>What happens to an occurrence while the previous task is unsettled.</summary>
    public OverlapPolicy Overlap { get; init; } = OverlapPolicy.Allow;

    /// <summary>
    /// How late an occurrence may still be fired: one that the source reaches later than this after its time (the process was not
    /// running, paused by the machine, or blocked on a full queue) is missed and handled by <see cref="Missed"/>.
    /// </summary>
    public TimeSpan MisfireThreshold { get; init; } = DefaultMisfireThreshold;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming what is wrong: the name, the queue, the expression or the threshold. Whether
    /// the time zone is known depends on the machine's time-zone database, so it is checked when the runtime starts, with every other
    /// configuration value.
    /// </summary>
    public void Validate()
    {
        NameValidation.ThrowIfInvalid(Name, "source");
        NameValidation.ThrowIfInvalid(Queue, "queue");
        if (CronSchedule.CheckExpression(Cron) is { } error)
            throw new ArgumentException($"Scheduled source '{Name}': {error}");
        if (string.IsNullOrWhiteSpace(TimeZone))
            throw new ArgumentException($"Scheduled source '{Name}': the time zone is empty.");
        if (MisfireThreshold < TimeSpan.FromSeconds(1) || MisfireThreshold > TimeSpan.FromDays(1))
            throw new ArgumentException($"Scheduled source '{Name}': MisfireThreshold must be between 1 second and 1 day (was {MisfireThreshold}).");
    }
}
