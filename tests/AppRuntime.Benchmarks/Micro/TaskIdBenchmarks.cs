using System.Globalization;
using BenchmarkDotNet.Attributes;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>
/// The task id every publish creates (<c>Guid.NewGuid().ToString("N")</c> in Publishing) next to cheaper unique ids.
/// On Linux Guid.NewGuid reads the kernel's random source with a system call; the profile of the side-by-side run shows it.
/// </summary>
[MemoryDiagnoser]
public class TaskIdBenchmarks
{
    private static readonly string s_prefix = Guid.NewGuid().ToString("N")[..16];
    private long _counter;

    [Benchmark(Baseline = true, Description = "Guid.NewGuid().ToString(\"N\") (current)")]
    public string GuidId() => Guid.NewGuid().ToString("N");

    [Benchmark(Description = "Guid.CreateVersion7().ToString(\"N\")")]
    public string GuidV7Id() => Guid.CreateVersion7().ToString("N");

    [Benchmark(Description = "process-random prefix + Interlocked counter (hex)")]
    public string CounterId()
    {
        var n = Interlocked.Increment(ref _counter);
        return string.Create(32, n, static (span, value) =>
        {
            s_prefix.AsSpan().CopyTo(span);
            value.TryFormat(span[16..], out _, "x16", CultureInfo.InvariantCulture);
        });
    }
}
