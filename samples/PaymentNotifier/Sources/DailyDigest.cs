using AppRuntime;
using PaymentNotifier.Domain;

namespace PaymentNotifier.Sources;

/// <summary>
/// The daily digest: at 07:00 Europe/Berlin (configuration overrides it: <c>AppRuntime:Sources:daily-digest:Cron</c> and
/// <c>:TimeZone</c>), one task for the day before, in the schedule's zone. On Redis the occurrence is published once across every
/// instance; a day missed while no instance ran is caught up once at the next start.
/// </summary>
[ScheduledSource("digests", Name = "daily-digest", Cron = "0 7 * * *", TimeZone = "Europe/Berlin", Missed = MissedPolicy.RunOnce)]
public sealed class DailyDigest : IScheduledSource<DigestTask>
{
    /// <inheritdoc />
    public DigestTask Create(ScheduledOccurrence occurrence)
    {
        ArgumentNullException.ThrowIfNull(occurrence);
        return new DigestTask(DateOnly.FromDateTime(occurrence.LocalTime.DateTime).AddDays(-1), occurrence.TimeZone);
    }
}
