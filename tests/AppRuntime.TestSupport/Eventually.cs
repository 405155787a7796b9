using System.Diagnostics;

namespace AppRuntime.TestSupport;

/// <summary>Waits on a condition with a deadline (real time), for tests that watch real threads or servers. Never a fixed sleep.</summary>
public static class Eventually
{
    /// <summary>Default deadline.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> until it is true or the deadline passes, then fails with <paramref name="because"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string because, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (!condition())
        {
            if (deadline.Elapsed > limit)
                throw new TimeoutException($"Condition not met within {limit}: {because}");
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Async variant of <see cref="TrueAsync(Func{bool}, string, TimeSpan?)"/>; <paramref name="interval"/> between polls (default 10 ms: longer for a costly check such as a query).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null, TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? DefaultTimeout;
        while (!await condition().ConfigureAwait(false))
        {
            if (deadline.Elapsed > limit)
                throw new TimeoutException($"Condition not met within {limit}: {because}");
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(10)).ConfigureAwait(false);
        }
    }
}
