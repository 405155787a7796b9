using System.Collections.Concurrent;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Core.Tests.Sources;

public sealed class PollingTaskSourceTests
{
    private sealed class CountingSource(PollingOptions options, Func<int, int> poll) : PollingTaskSource<Job>(options)
    {
        public int Polls;

        protected override async ValueTask<int> PollAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref Polls);
            var count = poll(n);
            for (var i = 0; i < count; i++)
                await context.PublishAsync(new Job(n * 100 + i), null, cancellationToken);
            return count;
        }

        public TimeSpan Backoff(int errors) => BackoffFor(errors);

        public TimeSpan Next() => NextInterval();
    }

    private sealed class FakeContext(TimeProvider time) : ITaskSourceContext<Job>
    {
        public ConcurrentQueue<Job> Published { get; } = new();
        public ConcurrentQueue<string> Errors { get; } = new();
        public AppRuntime.Internal.AsyncGate Gate { get; } = new(open: true);
        public string SourceName => "counting";
        public string QueueName => "jobs";
        public TimeProvider TimeProvider => time;
        public bool IsPaused => !Gate.IsOpen;

        public ValueTask<string> PublishAsync(Job task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
        {
            Published.Enqueue(task);
            return ValueTask.FromResult(task.Number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public ValueTask WaitUntilReadyAsync(CancellationToken cancellationToken) => new(Gate.WaitAsync(cancellationToken));
        public void ReportHealthy(string state, IReadOnlyDictionary<string, string>? details = null) { }
        public void ReportError(string state, Exception error) => Errors.Enqueue(error.Message);
    }

    [Fact]
    public async Task Polls_once_per_interval_on_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        var source = new CountingSource(new PollingOptions { Interval = TimeSpan.FromSeconds(10), Jitter = 0 }, _ => 2);
        var context = new FakeContext(time);
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(context, cts.Token);

        await Eventually.TrueAsync(() => source.Status.State == "idle" && source.Status.TotalPolls == 1, "first poll at start");
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, source.Polls);
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => source.Status.TotalPolls == 2 && source.Status.State == "idle", "second poll after 10 s");
        time.Advance(TimeSpan.FromSeconds(10));
        await Eventually.TrueAsync(() => source.Status.TotalPolls == 3, "third poll after 20 s");

        Assert.Equal(6, context.Published.Count);
        Assert.Equal(6, source.Status.TotalPublished);
        await cts.CancelAsync();
        await run;
        Assert.Equal("stopped", source.Status.State);
    }

    [Fact]
    public async Task Failed_polls_back_off_exponentially_and_a_success_resets_the_backoff()
    {
        var time = new FakeTimeProvider();
        var source = new CountingSource(new PollingOptions { Interval = TimeSpan.FromMinutes(1), Jitter = 0, ErrorBackoff = TimeSpan.FromSeconds(1), MaxErrorBackoff = TimeSpan.FromSeconds(4) },
            n => n <= 4 ? throw new IOException($"server down #{n}") : 1);
        var context = new FakeContext(time);
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(context, cts.Token);

        foreach (var (errors, wait) in new[] { (1, 1), (2, 2), (3, 4), (4, 4) })
        {
            await Eventually.TrueAsync(() => source.Status.ConsecutiveErrors == errors && source.Status.State == "backoff", $"{errors} failed poll(s)");
            Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(wait), source.Status.NextPollAt);
            Assert.Equal($"server down #{errors}", source.Status.LastError);
            time.Advance(TimeSpan.FromSeconds(wait));
        }

        await Eventually.TrueAsync(() => source.Status.State == "idle", "fifth poll succeeds");
        Assert.Equal(0, source.Status.ConsecutiveErrors);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(1), source.Status.NextPollAt);
        Assert.Equal(4, context.Errors.Count);
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public void Jitter_keeps_the_interval_within_its_bounds_and_varies_it()
    {
        var source = new CountingSource(new PollingOptions { Interval = TimeSpan.FromSeconds(10), Jitter = 0.2 }, _ => 0);
        var samples = Enumerable.Range(0, 500).Select(_ => source.Next()).ToList();

        Assert.All(samples, s => Assert.InRange(s, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(12)));
        Assert.True(samples.Distinct().Count() > 10, "jitter must spread the intervals");
        Assert.Equal(TimeSpan.FromSeconds(8), source.Backoff(4));
    }

    [Fact]
    public async Task A_paused_context_holds_the_next_poll()
    {
        var time = new FakeTimeProvider();
        var source = new CountingSource(new PollingOptions { Interval = TimeSpan.FromSeconds(1), Jitter = 0 }, _ => 0);
        var context = new FakeContext(time);
        context.Gate.Close();
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(context, cts.Token);

        await Eventually.TrueAsync(() => source.Status.State == "waiting", "waiting while paused");
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, source.Polls);
        context.Gate.Open();
        await Eventually.TrueAsync(() => source.Polls == 1, "polls after resume");
        await cts.CancelAsync();
        await run;
    }

    [Fact]
    public void Invalid_options_are_rejected_naming_the_setting()
    {
        var ex = Assert.Throws<ArgumentException>(() => new CountingSource(new PollingOptions { Interval = TimeSpan.Zero }, _ => 0));
        Assert.Contains("Interval", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_faulted_source_is_restarted_and_an_operator_pause_holds_publishing()
    {
        var runs = 0;
        var source = new CrashOnceSource(() => Interlocked.Increment(ref runs));
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("src", "Job"));
            b.AddSource<Job>(new SourceDefinition("crashy", "src") { RestartDelay = TimeSpan.FromMilliseconds(10) }, _ => source);
        });
        await rt.StartAsync();

        await Eventually.TrueAsync(() => Volatile.Read(ref runs) == 2 && rt.Runtime.GetSourceSnapshots()[0].Published == 1, "restarted after the crash and published");
        var snapshot = rt.Runtime.GetSourceSnapshots()[0];
        Assert.Contains("crashed on first run", snapshot.LastError, StringComparison.Ordinal);

        Assert.True(rt.Control.PauseSource("crashy").Succeeded);
        Assert.True(rt.Runtime.GetSourceSnapshots()[0].Paused);
        Assert.Equal("paused", rt.Runtime.GetSourceSnapshots()[0].State);
        source.Release.Release();
        await Task.Yield();
        Assert.Equal(1, rt.Runtime.GetSourceSnapshots()[0].Published);
        Assert.True(rt.Control.ResumeSource("crashy").Succeeded);
        await Eventually.TrueAsync(() => rt.Runtime.GetSourceSnapshots()[0].Published == 2, "publishes after resume");
        Assert.Equal(ControlStatus.NotFound, rt.Control.PauseSource("nope").Status);
    }

    private sealed class CrashOnceSource(Func<int> onRun) : ITaskSource<Job>
    {
        public SemaphoreSlim Release { get; } = new(0);

        public async Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken)
        {
            if (onRun() == 1)
                throw new InvalidOperationException("crashed on first run");
            await context.PublishAsync(new Job(1), null, cancellationToken);
            await Release.WaitAsync(cancellationToken);
            await context.PublishAsync(new Job(2), null, cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
