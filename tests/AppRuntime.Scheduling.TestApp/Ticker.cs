using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace AppRuntime.Scheduling.TestApp;

/// <summary>The task of one occurrence: when it was due, and which process published it.</summary>
public sealed record TickTask(DateTimeOffset Occurrence, int PublishedBy, bool IsCatchUp, long MissedCount);

[ApplicationModule("ticker")]
[TaskQueue<TickTask>("ticks", VisibilityTimeoutSeconds = 3)]
[WorkerPool("ticks", Workers = 2, RetryDelayMilliseconds = 100)]
public static partial class TickerModule;

/// <summary>Fires every second (configuration overrides the expression: AppRuntime:Sources:ticker:Cron).</summary>
[ScheduledSource("ticks", Name = "ticker", Cron = "* * * * * *")]
public sealed class Ticker(TickerSettings settings) : IScheduledSource<TickTask>
{
    public TickTask Create(ScheduledOccurrence occurrence)
    {
        // Instances never fire in lockstep (GC pauses, clock skew between machines, slow work before the publish). The jitter makes
        // a process publish up to CreateJitterMs late, after another's task for the same occurrence may have been handled and
        // acked already: only the deduplicated publish keeps that from becoming a second task.
        if (settings.CreateJitterMs > 0)
            Thread.Sleep(Random.Shared.Next(settings.CreateJitterMs));
        return new(occurrence.Time, Environment.ProcessId, occurrence.IsCatchUp, occurrence.MissedCount);
    }
}

/// <summary>Settings of the test app: where to record what was handled, and how many tasks to measure.</summary>
[ConfigSection("TickerTest")]
public sealed partial class TickerSettings
{
    /// <summary>Redis key prefix of the records (<c>&lt;Record&gt;:handled</c>, ...); none: nothing is recorded in Redis.</summary>
    public string? Record { get; set; }

    /// <summary>Stop after this many tasks and print their lateness (p50, p99); 0: run until stopped.</summary>
    public int Measure { get; set; }

    /// <summary>Each task's creation waits a random 0 to this many milliseconds (instances out of step); 0: none.</summary>
    public int CreateJitterMs { get; set; }
}

/// <summary>
/// Records each delivery in Redis, through its own connection: <c>handled</c> (task id → first deliveries, attempt 1: a second
/// task for one occurrence would count 2), <c>redelivered</c> (task id → later deliveries of the same task), <c>by-publisher</c>
/// and <c>by-handler</c> (process id → tasks, first deliveries). With
/// <c>Measure</c>, keeps how late each task started (handler start − occurrence) and stops the app after that many.
/// </summary>
[Service]
public sealed class TickRecorder(TickerSettings settings, IHostApplicationLifetime lifetime, TimeProvider time)
{
    private readonly ConcurrentQueue<double> _lateness = new();
    private ConnectionMultiplexer? _redis;

    public async Task RecordAsync(TickTask task, TaskContext context)
    {
        var lateMs = (time.GetUtcNow() - task.Occurrence).TotalMilliseconds;
        if (settings.Record is { Length: > 0 } record)
        {
            _redis ??= await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("TICKER_REDIS") ?? "127.0.0.1:6390");
            var db = _redis.GetDatabase();
            var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            if (context.Attempt == 1)
            {
                await Task.WhenAll(
                    db.HashIncrementAsync(record + ":handled", context.TaskId),
                    db.HashIncrementAsync(record + ":by-publisher", task.PublishedBy.ToString(CultureInfo.InvariantCulture)),
                    db.HashIncrementAsync(record + ":by-handler", pid));
            }
            else
            {
                await db.HashIncrementAsync(record + ":redelivered", context.TaskId);
            }
        }
        if (settings.Measure > 0 && context.Attempt == 1)
        {
            _lateness.Enqueue(lateMs);
            if (_lateness.Count == settings.Measure)
            {
                var sorted = _lateness.Order().ToArray();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ticker: {sorted.Length} occurrences, handler start - occurrence: p50 {Percentile(sorted, 0.50):F1} ms, p99 {Percentile(sorted, 0.99):F1} ms, min {sorted[0]:F1} ms, max {sorted[^1]:F1} ms"));
                lifetime.StopApplication();
            }
        }
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

[TaskHandler("ticks")]
public sealed class TickHandler(TickRecorder recorder) : ITaskHandler<TickTask>
{
    public async ValueTask HandleAsync(TickTask task, TaskContext context, CancellationToken cancellationToken) =>
        await recorder.RecordAsync(task, context);
}
