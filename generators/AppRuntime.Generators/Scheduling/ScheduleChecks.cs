using System;
using System.Linq;
using Cronos;

namespace AppRuntime.Generators.Scheduling;

/// <summary>
/// The build-time checks of a [ScheduledSource]: the expression with Cronos itself (bundled beside the generator, so the verdict is
/// the runtime's), the time zone against a fixed list of IANA ids. The rules mirror AppRuntime.Scheduling's CronSchedule; a test
/// compares both over more than 200 expressions.
/// </summary>
internal static class ScheduleChecks
{
    private static readonly DateTime NeverFiresProbe = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly char[] FieldSeparators = { ' ', '\t' };

    /// <summary>Null when valid, else Cronos's reason. <paramref name="neverFires"/>: valid but matching no date.</summary>
    public static string? CheckExpression(string? expression, string? sourceName, out bool neverFires)
    {
        neverFires = false;
        if (expression is null || expression.Trim().Length == 0)
            return "the cron expression is empty";
        var text = expression.Trim();
        var format = text.Split(FieldSeparators, StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
        try
        {
            var parsed = CronExpression.Parse(text, format, Seed(sourceName));
            neverFires = parsed.GetNextOccurrence(NeverFiresProbe) is null;
            return null;
        }
        catch (CronFormatException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Null when <paramref name="timeZone"/> is an IANA id; else the end of the message (a suggestion), possibly empty.</summary>
    public static string? CheckTimeZone(string? timeZone)
    {
        if (timeZone is null || timeZone.Trim().Length == 0)
            return " (it is empty; use an IANA id such as 'Europe/Berlin', or 'UTC')";
        if (TimeZoneIds.Iana.Contains(timeZone))
            return null;
        if (TimeZoneIds.Windows.TryGetValue(timeZone, out var iana))
            return "; '" + timeZone + "' is a Windows id: use '" + iana + "'";
        var closest = TimeZoneIds.Iana.OrderBy(id => Distance(timeZone.ToLowerInvariant(), id.ToLowerInvariant())).ThenBy(id => id, StringComparer.Ordinal).First();
        return Distance(timeZone.ToLowerInvariant(), closest.ToLowerInvariant()) <= Math.Max(2, timeZone.Length / 4)
            ? "; did you mean '" + closest + "'?"
            : "";
    }

    /// <summary>The seed of <c>H</c>, as the runtime computes it: FNV-1a (32 bits) of the source name, non-negative.</summary>
    public static int Seed(string? sourceName)
    {
        if (string.IsNullOrEmpty(sourceName))
            return 0;
        var hash = 2166136261u;
        foreach (var c in sourceName!)
        {
            hash ^= c;
            hash *= 16777619u;
        }
        return (int)(hash & 0x7FFFFFFF);
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        }
        return d[a.Length, b.Length];
    }
}
