namespace AppRuntime;

/// <summary>
/// A scheduled source: the runtime calls <see cref="Create"/> once per occurrence of its schedule and publishes the task it returns
/// (see <see cref="ScheduledSourceAttribute"/>). Throwing from <see cref="Create"/> faults the source: it is restarted with backoff
/// and the occurrence counts as not fired.
/// </summary>
/// <typeparam name="T">The task type of the queue.</typeparam>
public interface IScheduledSource<out T>
{
    /// <summary>Creates the task of one occurrence (or of a catch-up, <see cref="ScheduledOccurrence.IsCatchUp"/>).</summary>
    T Create(ScheduledOccurrence occurrence);
}

/// <summary>One occurrence of a schedule, or a catch-up for missed ones.</summary>
/// <param name="Source">The source name.</param>
/// <param name="Time">The occurrence in UTC; for a catch-up, the last missed occurrence.</param>
/// <param name="LocalTime">The same instant in the schedule's time zone.</param>
/// <param name="TimeZone">The IANA time-zone id of the schedule.</param>
public sealed record ScheduledOccurrence(string Source, DateTimeOffset Time, DateTimeOffset LocalTime, string TimeZone)
{
    /// <summary>The most missed times a catch-up lists in <see cref="MissedOccurrences"/>.</summary>
    public const int MaxListedMissed = 1000;

    /// <summary>The task id, also its idempotency key: <c>&lt;source&gt;:&lt;Time as yyyy-MM-ddTHH:mm:ssZ&gt;</c>.</summary>
    public string TaskId => ScheduledTaskIds.For(Source, Time);

    /// <summary>True for the one task <see cref="MissedPolicy.RunOnce"/> publishes for a missed span.</summary>
    public bool IsCatchUp { get; init; }

    /// <summary>For a catch-up: how many occurrences were missed (counted up to 1,000,000).</summary>
    public long MissedCount { get; init; }

    /// <summary>For a catch-up: the missed occurrences in UTC, oldest first: the first <see cref="MaxListedMissed"/> of them.</summary>
    public IReadOnlyList<DateTimeOffset> MissedOccurrences { get; init; } = [];
}

/// <summary>Task ids of scheduled sources.</summary>
public static class ScheduledTaskIds
{
    /// <summary>The header that carries the occurrence (UTC, <c>yyyy-MM-ddTHH:mm:ssZ</c>) on every scheduled task.</summary>
    public const string OccurrenceHeader = "appruntime-schedule-occurrence";

    /// <summary>The header that carries, on a catch-up task, how many occurrences were missed.</summary>
    public const string MissedHeader = "appruntime-schedule-missed";

    /// <summary><c>&lt;source&gt;:&lt;occurrence as yyyy-MM-ddTHH:mm:ssZ&gt;</c>.</summary>
    public static string For(string source, DateTimeOffset occurrence)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        return source + ":" + Format(occurrence);
    }

    /// <summary>The occurrence in UTC as <c>yyyy-MM-ddTHH:mm:ssZ</c> (the time part of task ids and checkpoints).</summary>
    public static string Format(DateTimeOffset occurrence) =>
        occurrence.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads what <see cref="Format"/> wrote; null when <paramref name="text"/> is null or not in that form.</summary>
    public static DateTimeOffset? Parse(string? text) =>
        text is not null && DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : null;
}
