namespace AppRuntime;

/// <summary>
/// The one exponential backoff of AppRuntime: the runtime uses it for retry delays and for restarts of workers and sources,
/// <see cref="PollingTaskSource{T}"/> after failed polls, and a source of its own can use it for reconnects.
/// </summary>
public static class Backoff
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
