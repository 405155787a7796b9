using System.Diagnostics;

namespace AppRuntime.Benchmarks.SideBySide;

/// <summary>
/// Where every no-op handler of every row reports: records publish→handler latency into a preallocated array
/// (no allocation per task) and completes when the expected number of tasks was handled.
/// Static because MassTransit, Wolverine and Hangfire create their handlers themselves.
/// </summary>
public sealed class LatencySink
{
    private static LatencySink s_current = new(1);
    private readonly long[] _latencies;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _handled;

    public LatencySink(int expected)
    {
        Expected = expected;
        _latencies = new long[expected];
    }

    public static LatencySink Current
    {
        get => Volatile.Read(ref s_current);
        set => Volatile.Write(ref s_current, value);
    }

    public int Expected { get; }

    public int Handled => Volatile.Read(ref _handled);

    public Task Done => _done.Task;

    /// <summary>Called by every row's handler.</summary>
    public static void Record(long seq, long publishedAt)
    {
        var now = Stopwatch.GetTimestamp();
        var sink = Current;
        if ((ulong)seq < (ulong)sink._latencies.Length)
            sink._latencies[seq] = now - publishedAt;
        if (Interlocked.Increment(ref sink._handled) == sink.Expected)
            sink._done.TrySetResult();
    }

    /// <summary>p50 and p99 in microseconds over the tasks that were handled (unhandled slots are 0 and skipped).</summary>
    public (double P50Us, double P99Us) Percentiles()
    {
        var values = _latencies.Where(v => v > 0).ToArray();
        if (values.Length == 0)
            return (double.NaN, double.NaN);
        Array.Sort(values);
        double At(double q) => values[Math.Min(values.Length - 1, (int)Math.Ceiling(q * values.Length) - 1)] * 1_000_000.0 / Stopwatch.Frequency;
        return (At(0.50), At(0.99));
    }
}
