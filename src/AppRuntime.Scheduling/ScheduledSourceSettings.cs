using Microsoft.Extensions.Configuration;

namespace AppRuntime.Internal;

/// <summary>
/// The keys a scheduled source reads under <c>AppRuntime:Sources:&lt;name&gt;</c>, bound by the generated binder. The runtime binds one
/// per scheduled source, at that source's path (the attribute's path is the parent all of them share); a key left unset keeps the
/// declaration's value.
/// </summary>
[ConfigSection("AppRuntime:Sources")]
internal sealed partial class ScheduledSourceSettings
{
    /// <summary>Overrides the declared cron expression.</summary>
    public string? Cron { get; set; }

    /// <summary>Overrides the declared IANA time zone.</summary>
    public string? TimeZone { get; set; }

    /// <summary>Overrides the declared missed-occurrence policy.</summary>
    public MissedPolicy? Missed { get; set; }

    /// <summary>Overrides the declared overlap policy.</summary>
    public OverlapPolicy? Overlap { get; set; }

    /// <summary>Overrides how late an occurrence may still fire.</summary>
    [TimeRange("00:00:01", "1.00:00:00")]
    public TimeSpan? MisfireThreshold { get; set; }
}

/// <summary>The schedule a source runs with: the declaration with the configuration's overrides, checked.</summary>
internal sealed record ScheduleSettings(CronSchedule Schedule, MissedPolicy Missed, OverlapPolicy Overlap, TimeSpan MisfireThreshold)
{
    /// <summary>
    /// Binds <c>AppRuntime:Sources:&lt;name&gt;</c> over <paramref name="definition"/> and checks the expression and the time zone with
    /// Cronos and this machine's time-zone database; every problem goes to <paramref name="errors"/> with its key path. Runs at start
    /// and on every reload, so an invalid override is reported with every other configuration error, and refused on reload.
    /// </summary>
    public static ScheduleSettings? Bind(ScheduledSourceDefinition definition, IConfigurationSection section, ConfigErrors errors)
    {
        var bound = ScheduledSourceSettings.BindConfigSection(section, errors);
        var cron = bound.Cron ?? definition.Cron;
        var timeZone = bound.TimeZone ?? definition.TimeZone;
        var declared = " (declared on scheduled source '" + definition.Name + "')";
        var failed = false;
        if (CronSchedule.CheckExpression(cron) is { } cronError)
        {
            errors.Add(section.GetSection(nameof(ScheduledSourceSettings.Cron)).Path, cronError + (bound.Cron is null ? declared : ""));
            failed = true;
        }
        if (CronSchedule.CheckTimeZone(timeZone) is { } zoneError)
        {
            errors.Add(section.GetSection(nameof(ScheduledSourceSettings.TimeZone)).Path, zoneError + (bound.TimeZone is null ? declared : ""));
            failed = true;
        }
        if (failed || !CronSchedule.TryParse(cron, timeZone, definition.Name, out var schedule, out _))
            return null;
        return new ScheduleSettings(schedule, bound.Missed ?? definition.Missed, bound.Overlap ?? definition.Overlap,
            bound.MisfireThreshold ?? definition.MisfireThreshold);
    }
}
