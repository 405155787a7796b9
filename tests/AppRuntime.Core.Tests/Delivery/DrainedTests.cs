using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Core.Tests.Delivery;

/// <summary>The drained signal and the run-until-drained mode (<c>--once</c>) for any app, without sample code.</summary>
public sealed class DrainedTests
{
    private sealed record Followup(int Number);

    private static TestRuntime Create(int jobs, Func<Job, ValueTask> handle, RunMode? mode = null, IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null) => new(b =>
    {
        b.AddQueue<Job>(new QueueDefinition("work", "Job"));
        b.AddQueue<Followup>(new QueueDefinition("next", "Followup"));
        b.AddWorkerPool(new WorkerPoolDefinition("work") { Workers = 2, RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero, MaxAttempts = 2 });
        b.AddWorkerPool(new WorkerPoolDefinition("next"));
        b.AddHandler<Job>("work", sp => new DelegateHandler<Job>(async (job, _, _) =>
        {
            await handle(job);
            // Work passed on to a second queue counts too: drained means that is done as well.
            await sp.GetRequiredService<ITaskPublisher<Followup>>().PublishAsync(new Followup(job.Number));
        }));
        b.AddHandler<Followup>("next", _ => new DelegateHandler<Followup>((_, _, _) => ValueTask.CompletedTask));
        b.AddSource<Job>(new SourceDefinition("list", "work"), _ => new ListSource<Job>([.. Enumerable.Range(1, jobs).Select(i => new Job(i))]));
    }, settings, options: o => o.RunMode = mode ?? o.RunMode, services: services);

    [Fact]
    public async Task The_runtime_is_drained_only_once_every_published_task_and_the_work_it_passed_on_is_settled()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = 0;
        await using var rt = Create(20, async job =>
        {
            if (job.Number == 7)
                await gate.Task; // one task is still being handled
            Interlocked.Increment(ref handled);
        });
        await rt.StartAsync();

        await AppRuntime.TestSupport.Eventually.TrueAsync(() => Volatile.Read(ref handled) == 19, "19 of 20 handled");
        // The 19th is counted inside its handler; its settlement (after the follow-up publish and the ack) comes just after.
        await AppRuntime.TestSupport.Eventually.TrueAsync(() => rt.Runtime.Sources.Undrained() is [("list", 1)], "only the held task is unsettled");
        Assert.False(await rt.Runtime.IsDrainedAsync());

        gate.SetResult();
        await rt.Runtime.WaitUntilDrainedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(await rt.Runtime.IsDrainedAsync());
        var stats = await rt.Queue<Followup>("next").GetStatsAsync();
        Assert.Equal(20, stats.Acked); // the tasks handed on were processed before "drained"
    }

    [Fact]
    public async Task A_dead_lettered_task_counts_as_settled()
    {
        await using var rt = Create(3, job => job.Number == 2 ? throw new PermanentTaskException("no") : ValueTask.CompletedTask);
        await rt.StartAsync();

        await rt.Runtime.WaitUntilDrainedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Single((await rt.Control.GetDeadLettersAsync("work")).Value!);
    }

    [Fact]
    public async Task Run_until_drained_tells_the_drain_observers_then_stops_the_application()
    {
        var lifetime = new RecordingLifetime();
        var observed = new List<string>();
        await using var rt = Create(5, _ => ValueTask.CompletedTask, RunMode.UntilDrained, services: s =>
        {
            s.AddSingleton<IHostApplicationLifetime>(lifetime);
            s.AddSingleton<IDrainObserver>(new Observer(() => observed.Add(lifetime.Stopped ? "after stop" : "before stop")));
        });
        await rt.StartAsync();

        await lifetime.StoppedTask.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["before stop"], observed);
        Assert.True(await rt.Runtime.IsDrainedAsync());
    }

    [Fact]
    public async Task Run_until_drained_exits_70_naming_the_failure_when_a_drain_observer_fails()
    {
        // A --once run whose end-of-run work (a summary, an export) failed must not look like a success to a script or a scheduler.
        var root = Directory.CreateTempSubdirectory("drain-observer-").FullName;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = ["--AppRuntime:RunMode=UntilDrained"], ContentRootPath = root });
        builder.AddAppRuntime()
            .AddQueue<Job>(new QueueDefinition("work", "Job"))
            .AddWorkerPool(new WorkerPoolDefinition("work"))
            .AddHandler<Job>("work", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask))
            .AddSource<Job>(new SourceDefinition("list", "work"), _ => new ListSource<Job>([new Job(1), new Job(2)]));
        builder.Services.AddSingleton<IDrainObserver>(new Observer(() => throw new InvalidOperationException("the summary could not be read")));
        using var error = new StringWriter();

        var code = await AppRuntimeConsole.RunAsync(builder.Build(), error, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(AppRuntimeConsole.DrainObserverFailedExitCode, code);
        Assert.Contains("AppRuntime drained, but a drain observer failed: InvalidOperationException: the summary could not be read", error.ToString(), StringComparison.Ordinal);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task The_once_switch_becomes_the_run_mode_key()
    {
        var args = AppRuntimeConsole.TranslateArgs(["--once", "--MailOrderBot:Workers=2"]);
        Assert.Equal(["--AppRuntime:RunMode=UntilDrained", "--MailOrderBot:Workers=2"], args);

        await using var rt = Create(1, _ => ValueTask.CompletedTask, settings: new Dictionary<string, string?> { ["AppRuntime:RunMode"] = "UntilDrained" });
        await rt.StartAsync();
        Assert.Equal(RunMode.UntilDrained, rt.Provider.GetRequiredService<IConfigSection<AppRuntimeOptions>>().Current.RunMode);
    }

    [Fact]
    public async Task A_source_publishing_an_id_twice_within_the_window_publishes_it_once_and_still_drains()
    {
        var handled = 0;
        var results = new List<PublishResult>();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("work", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("work"));
            b.AddHandler<Job>("work", _ => new DelegateHandler<Job>((_, _, _) =>
            {
                Interlocked.Increment(ref handled);
                return ValueTask.CompletedTask;
            }));
            b.AddSource<Job>(new SourceDefinition("twice", "work"), _ => new DuplicatingSource(results));
        });
        await rt.StartAsync();

        await rt.Runtime.WaitUntilDrainedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Equal([new PublishResult("evt-1", true), new PublishResult("evt-1", false), new PublishResult("evt-2", true)], results);
        Assert.Equal(2, Volatile.Read(ref handled));
        Assert.Equal(2, rt.Control.GetSources().Single().Published);

        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        Assert.False((await publisher.TryPublishAsync(new Job(9), new TaskPublishOptions { Id = "evt-2", DeduplicationWindow = TimeSpan.FromHours(1) })).Published);
        await Assert.ThrowsAsync<ArgumentException>(async () => await publisher.TryPublishAsync(new Job(9), new TaskPublishOptions { Id = "evt-3" }));
    }

    private sealed class DuplicatingSource(List<PublishResult> results) : ITaskSource<Job>
    {
        public async Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken)
        {
            foreach (var id in new[] { "evt-1", "evt-1", "evt-2" })
                results.Add(await context.TryPublishAsync(new Job(1), new TaskPublishOptions { Id = id, DeduplicationWindow = TimeSpan.FromHours(1) }, cancellationToken));
            context.ReportCaughtUp();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    private sealed class Observer(Action onDrained) : IDrainObserver
    {
        public ValueTask OnDrainedAsync(CancellationToken cancellationToken)
        {
            onDrained();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class RecordingLifetime : IHostApplicationLifetime
    {
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Stopped => _stopped.Task.IsCompleted;

        public Task StoppedTask => _stopped.Task;

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => _stopped.TrySetResult();
    }
}
