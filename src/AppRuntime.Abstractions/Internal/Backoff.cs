namespace AppRuntime.Internal;

/// <summary>
/// The one exponential backoff of AppRuntime: <see cref="PollingTaskSource{T}"/> uses it after failed polls, and AppRuntime.Core
/// (through InternalsVisibleTo) for worker and source restarts and for retry delays.
/// </summary>
internal static class Backoff
{
    /// <summary><paramref name="initial"/> doubled per step after the first, capped at <paramref name="max"/>.</summary>
    public static TimeSpan Exponential(TimeSpan initial, TimeSpan max, int step)
    {
        if (step <= 1)
            return initial <= max ? initial : max;
        var ticks = initial.Ticks * Math.Pow(2, Math.Min(step - 1, 30));
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }
}
