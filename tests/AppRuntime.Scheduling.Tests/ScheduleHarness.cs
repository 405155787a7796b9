using System.Collections.Concurrent;
using System.Globalization;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Scheduling.Tests;

public sealed record Tick(string Source, DateTimeOffset Time, bool IsCatchUp, long MissedCount, IReadOnlyList<DateTimeOffset> Missed);

/// <summary>The task creator of the tests: copies the occurrence into the task.</summary>
internal sealed class TickSource : IScheduledSource<Tick>
{
    public Tick Create(ScheduledOccurrence occurrence) =>
        new(occurrence.Source, occurrence.Time, occurrence.IsCatchUp, occurrence.MissedCount, occurrence.MissedOccurrences);
}

/// <summary>One handled task, as the handler saw it.</summary>
internal sealed record Handled(string TaskId, Tick Task, int Attempt, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// A runtime with one scheduled source (<c>ticks</c>) publishing into the in-memory queue <c>ticks</c> (or another backend), a
/// one-worker pool whose handler records every task, and a fake clock. Tests move the clock only once the source has armed its
/// timer for the expected occurrence (<see cref="WaitForNextAsync"/>).
/// </summary>
internal sealed class ScheduleHarness : IAsyncDisposable
{
    public const string Source = "ticks";

    private ServiceProvider? _provider;

    public ScheduleHarness(ScheduledSourceDefinition definition, DateTimeOffset start, IDictionary<string, string?>? settings = null,
        Action<IServiceCollection, IAppRuntimeBuilder>? configure = null, FakeTimeProvider? time = null)
    {
        Time = time ?? new FakeTimeProvider(start);
        Configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        var builder = services.AddAppRuntime(Configuration, o =>
        {
            o.DrainTimeout = TimeSpan.Zero;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        builder.AddQueue(new QueueDefinition(definition.Queue, "Tick") { VisibilityTimeout = TimeSpan.FromHours(1) }, TickJson.Serializer);
        builder.AddWorkerPool(new WorkerPoolDefinition(definition.Queue) { Workers = 4 });
        builder.AddHandler<Tick>(definition.Queue, _ => new DelegateHandler(async (task, context, ct) =>
        {
            HandledTasks.Enqueue(new Handled(context.TaskId, task, context.Attempt, context.Headers));
            if (Gate is { } gate)
                await gate.WaitAsync(ct);
        }));
        builder.AddScheduledSource(definition, _ => new TickSource());
        configure?.Invoke(services, builder);
        Services = services;
    }

    public FakeTimeProvider Time { get; }

    public Microsoft.Extensions.Configuration.ConfigurationManager Configuration { get; }

    public ServiceCollection Services { get; }

    public ConcurrentQueue<Handled> HandledTasks { get; } = new();

    /// <summary>When set, every handler waits for it (a task stays unsettled until released).</summary>
    public SemaphoreSlim? Gate { get; set; }

    public IServiceProvider Provider => _provider ??= Services.BuildServiceProvider();

    public RuntimeManager Runtime => Provider.GetRequiredService<RuntimeManager>();

    public AppRuntime.ConfigurationManager Config => Provider.GetRequiredService<AppRuntime.ConfigurationManager>();

    public Task StartAsync() => Runtime.StartAsync(CancellationToken.None);

    public SourceSnapshot Snapshot => Runtime.GetSourceSnapshots().Single(s => s.Name == Source);

    public SourceSchedule Schedule => Snapshot.Schedule ?? throw new InvalidOperationException("The source has not reported its schedule yet.");

    public IReadOnlyList<string> HandledIds => [.. HandledTasks.Select(h => h.TaskId)];

    /// <summary>Waits until the source's timer is armed for <paramref name="occurrence"/> (UTC), so moving the clock now fires it.</summary>
    public Task WaitForNextAsync(string occurrence) =>
        Eventually.TrueAsync(() => Snapshot.Details.TryGetValue("waitingFor", out var armed) && armed == ScheduledTaskIds.Format(At(occurrence)),
            $"the source's timer is armed for {occurrence} (state {Snapshot.State}, waiting for {Snapshot.Details.GetValueOrDefault("waitingFor")})");

    /// <summary>Moves the clock to <paramref name="occurrence"/> once the source waits for it, and waits until its task is handled.</summary>
    public async Task FireAsync(string occurrence)
    {
        await WaitForNextAsync(occurrence);
        Time.SetUtcNow(At(occurrence));
        var id = ScheduledTaskIds.For(Source, At(occurrence));
        await Eventually.TrueAsync(() => HandledIds.Contains(id), $"task {id} is handled (handled: {string.Join(", ", HandledIds)})");
        if (Gate is null)
        {
            // Settled too (acked), before the clock moves on: a lease must not expire on the fake clock while the ack is on its way.
            var queue = Runtime.GetQueue<Tick>("ticks");
            await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()) is { InFlight: 0, Depth: 0 }, $"task {id} is settled");
        }
    }

    public static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static string Id(string utc) => ScheduledTaskIds.For(Source, At(utc));

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
        {
            Gate?.Release(1000);
            if (Runtime.State == RuntimeState.Running)
                await Runtime.StopAsync(CancellationToken.None);
            await _provider.DisposeAsync();
        }
    }

    private sealed class DelegateHandler(Func<Tick, TaskContext, CancellationToken, Task> handle) : ITaskHandler<Tick>
    {
        public async ValueTask HandleAsync(Tick task, TaskContext context, CancellationToken cancellationToken) =>
            await handle(task, context, cancellationToken);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Tick))]
internal sealed partial class TickJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

internal static class TickJson
{
    public static TaskSerializer<Tick> Serializer { get; } = new JsonTaskSerializer<Tick>(TickJsonContext.Default.Tick);
}
