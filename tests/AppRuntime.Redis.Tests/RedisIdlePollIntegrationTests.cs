using AppRuntime.Internal;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Idle consumers look in Redis once per poll interval together, not once each: an idle instance (a standby of a cluster, a
/// quiet queue) otherwise runs a consume script per worker per interval for nothing. Judged by what Redis itself ran (MONITOR).
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisIdlePollIntegrationTests(ITestOutputHelper output) : RedisQueueFixture
{
    [Fact]
    public async Task Four_idle_consumers_poll_once_per_interval_together_and_a_task_published_behind_their_back_still_reaches_one()
    {
        var interval = TimeSpan.FromMilliseconds(100);
        RedisTaskQueue<WorkItem> NewInstance() =>
            (RedisTaskQueue<WorkItem>)new RedisQueueBackend(Connection, new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = interval }, TimeProvider.System)
                .Create(new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);
        var queue = NewInstance();
        using var stop = new CancellationTokenSource();
        var consumers = Enumerable.Range(0, 4).Select(_ => queue.ConsumeAsync(stop.Token).AsTask()).ToList();
        try
        {
            await Eventually.TrueAsync(() => queue.ParkedConsumers == 4, "the four consumers parked", TimeSpan.FromSeconds(10));

            await using (var monitor = await RedisMonitor.StartAsync(Prefix))
            {
                var watched = System.Diagnostics.Stopwatch.StartNew();
                await Eventually.TrueAsync(() => watched.Elapsed >= TimeSpan.FromSeconds(1.5), "1.5 s of idle consumers", TimeSpan.FromSeconds(10));
                await monitor.SyncAsync();
                var elapsed = watched.Elapsed;
                // Redis's own clock for each consume script it ran (MONITOR's first field, seconds).
                var looks = monitor.Lines.Where(l => l.Contains("\"eval", StringComparison.OrdinalIgnoreCase))
                    .Select(l => l.TrimStart()).Select(l => double.Parse(l[..l.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))
                    .Order().ToArray();
                var gaps = looks.Zip(looks.Skip(1), (a, b) => (b - a) * 1000).ToArray();
                output.WriteLine($"{looks.Length} consume scripts in {elapsed.TotalMilliseconds:0} ms, ms apart: {string.Join(' ', gaps.Select(g => g.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}");
                // One look per interval, never several at once: over the span MONITOR saw (it may have started a little before
                // the stopwatch), the looks are on average at least 80 % of an interval apart. Each consumer on its own made
                // about 60 in 1.5 s, four at a time (25 ms apart on average).
                Assert.True(looks.Length >= 3, $"only {looks.Length} consume scripts in {elapsed.TotalMilliseconds:0} ms of 4 idle consumers");
                var meanGap = gaps.Average();
                Assert.True(meanGap >= 0.8 * interval.TotalMilliseconds,
                    $"{looks.Length} consume scripts {meanGap:0} ms apart on average over {(looks[^1] - looks[0]) * 1000:0} ms of 4 idle consumers (poll interval {interval.TotalMilliseconds:0} ms)");
                // A consumer that resumes late (a loaded machine) may look just before the next one: allow two such pairs. The four
                // consumers on their own made three per interval (about 40 here).
                var close = gaps.Count(g => g < 20);
                Assert.True(close <= 2, $"{close} pairs of consume scripts less than 20 ms apart: {string.Join(' ', gaps.Select(g => g.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)))} ms");
            }

            // Four tasks published by another instance after this one's entry in `waiting` was deleted, so that (unless a look
            // in between wrote it again) no 'r' reaches it, as after a lost notification: a look fetches for all four consumers
            // at once, and each gets one.
            await using var other = NewInstance();
            await RedisCli.RunAsync("DEL", (string)queue.Keys.Waiting!);
            for (var n = 1; n <= 4; n++)
                await other.PublishAsync(Envelope(n));
            var leases = await Task.WhenAll(consumers).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(["task-1", "task-2", "task-3", "task-4"], leases.Select(l => l.Envelope.Id).Order().ToArray());
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(consumers.Select(c => c.ContinueWith(static _ => { }, TaskScheduler.Default)));
            await queue.DisposeAsync();
        }
    }
}
