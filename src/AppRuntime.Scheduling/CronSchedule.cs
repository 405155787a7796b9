using System.Diagnostics.CodeAnalysis;
using Cronos;

namespace AppRuntime;

/// <summary>
/// A cron expression (Cronos) evaluated in an IANA time zone: the rules every scheduled source uses, at start, on reload and for
/// each occurrence. An expression of six fields has seconds first (<see cref="CronFormat.IncludeSeconds"/>); anything else is read
/// as five fields or a macro (<see cref="CronFormat.Standard"/>). <c>H</c> picks a fixed value per source (Cronos's jitter, seeded
/// with a stable hash of the source name, so every instance agrees). Daylight saving is Cronos's: an occurrence in the hour the
/// clock skips fires when the clock jumps; in the hour it repeats, an occurrence fires once, except that expressions with a step
/// or a wildcard in the seconds, minutes or hours fire in both passes.
/// </summary>
public sealed class CronSchedule : IEquatable<CronSchedule>
{
    private static readonly DateTime NeverFiresProbe = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private readonly CronExpression _expression;

    private CronSchedule(string expression, CronExpression parsed, bool includesSeconds, TimeZoneInfo zone, string timeZoneId)
    {
        Expression = expression;
        _expression = parsed;
        IncludesSeconds = includesSeconds;
        TimeZone = zone;
        TimeZoneId = timeZoneId;
    }

    /// <summary>The expression as written (trimmed).</summary>
    public string Expression { get; }

    /// <summary>The IANA time-zone id as written.</summary>
    public string TimeZoneId { get; }

    /// <summary>The time zone.</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>True for a six-field expression (seconds first).</summary>
    public bool IncludesSeconds { get; }

    /// <summary>True when the expression matches no date at all (for example <c>0 0 30 2 *</c>).</summary>
    public bool NeverFires => _expression.GetNextOccurrence(NeverFiresProbe) is null;

    /// <summary>Parses an expression and a time zone; throws an <see cref="ArgumentException"/> saying what is wrong.</summary>
    /// <param name="expression">The cron expression.</param>
    /// <param name="timeZone">An IANA time-zone id; <c>UTC</c> by default.</param>
    /// <param name="sourceName">The source name, which seeds <c>H</c>.</param>
    public static CronSchedule Parse(string expression, string timeZone = ScheduledSourceDefinition.DefaultTimeZone, string? sourceName = null) =>
        TryParse(expression, timeZone, sourceName, out var schedule, out var error) ? schedule : throw new ArgumentException(error);

    /// <summary>Parses an expression and a time zone; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? expression, string? timeZone, string? sourceName, [NotNullWhen(true)] out CronSchedule? schedule,
        [NotNullWhen(false)] out string? error)
    {
        schedule = null;
        error = CheckExpression(expression, sourceName, out var parsed, out var seconds);
        TimeZoneInfo? zone = null;
        error ??= CheckTimeZone(timeZone, out zone);
        if (error is not null)
            return false;
        schedule = new CronSchedule(expression!.Trim(), parsed!, seconds, zone!, timeZone!);
        return true;
    }

    /// <summary>Null when <paramref name="expression"/> is a valid cron expression, else why it is not.</summary>
    public static string? CheckExpression(string? expression) => CheckExpression(expression, null, out _, out _);

    /// <summary>
    /// Null when <paramref name="timeZone"/> is an IANA time-zone id known on this machine, else why not. Windows ids are refused
    /// (with the IANA id to use instead), so a schedule means the same on every machine.
    /// </summary>
    public static string? CheckTimeZone(string? timeZone) => CheckTimeZone(timeZone, out _);

    /// <summary>The first occurrence strictly after <paramref name="after"/>, with the time zone's offset; null when there is none.</summary>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after) => _expression.GetNextOccurrence(after, TimeZone, inclusive: false);

    /// <summary>The last occurrence at or before <paramref name="atOrBefore"/>, with the time zone's offset; null when there is none.</summary>
    public DateTimeOffset? GetPreviousOccurrence(DateTimeOffset atOrBefore) => _expression.GetPreviousOccurrence(atOrBefore, TimeZone, inclusive: true);

    /// <summary>Up to <paramref name="count"/> occurrences strictly after <paramref name="after"/>, soonest first.</summary>
    public IReadOnlyList<DateTimeOffset> GetNextOccurrences(DateTimeOffset after, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var result = new List<DateTimeOffset>(count);
        var cursor = after;
        while (result.Count < count && GetNextOccurrence(cursor) is { } next)
        {
            result.Add(next);
            cursor = next;
        }
        return result;
    }

    /// <summary>The instant in the schedule's time zone.</summary>
    public DateTimeOffset ToLocal(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, TimeZone);

    /// <inheritdoc />
    public bool Equals(CronSchedule? other) => other is not null &&
        string.Equals(Expression, other.Expression, StringComparison.Ordinal) && string.Equals(TimeZoneId, other.TimeZoneId, StringComparison.Ordinal) &&
        _expression.Equals(other._expression);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as CronSchedule);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Expression, TimeZoneId);

    /// <inheritdoc />
    public override string ToString() => Expression + " (" + TimeZoneId + ")";

    /// <summary>Six fields: seconds first; otherwise five fields or a macro.</summary>
    internal static CronFormat FormatOf(string expression) =>
        expression.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;

    /// <summary>The seed of <c>H</c>: FNV-1a (32 bits) of the source name's UTF-16 code units, non-negative; 0 without a name.</summary>
    internal static int Seed(string? sourceName)
    {
        if (string.IsNullOrEmpty(sourceName))
            return 0;
        var hash = 2166136261u;
        foreach (var c in sourceName)
        {
            hash ^= c;
            hash *= 16777619u;
        }
        return (int)(hash & 0x7FFFFFFF);
    }

    private static string? CheckExpression(string? expression, string? sourceName, out CronExpression? parsed, out bool includesSeconds)
    {
        parsed = null;
        includesSeconds = false;
        if (string.IsNullOrWhiteSpace(expression))
            return "the cron expression is empty";
        var text = expression.Trim();
        var format = FormatOf(text);
        includesSeconds = format == CronFormat.IncludeSeconds;
        try
        {
            parsed = CronExpression.Parse(text, format, Seed(sourceName));
            return null;
        }
        catch (CronFormatException ex)
        {
            return $"'{text}' is not a valid cron expression: {ex.Message}";
        }
    }

    private static string? CheckTimeZone(string? timeZone, out TimeZoneInfo? zone)
    {
        zone = null;
        if (string.IsNullOrWhiteSpace(timeZone))
            return "the time zone is empty (use an IANA id such as 'Europe/Berlin', or 'UTC')";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var found))
            return $"'{timeZone}' is not a time zone known on this machine (use an IANA id such as 'Europe/Berlin'; on Linux the tzdata package provides them)";
        if (!found.HasIanaId)
        {
            return TimeZoneInfo.TryConvertWindowsIdToIanaId(timeZone, out var iana)
                ? $"'{timeZone}' is a Windows time-zone id; use the IANA id '{iana}'"
                : $"'{timeZone}' is not an IANA time-zone id";
        }
        zone = found;
        return null;
    }
}
