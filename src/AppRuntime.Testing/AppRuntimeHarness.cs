using System.Diagnostics;
using System.Globalization;
using System.Text;
using AppRuntime.Testing.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Testing;

/// <summary>
/// An application's module on the real AppRuntime, for tests: a host with recording in-memory queues and a fake clock. Publish
/// tasks (or let the module's sources run), run until idle, move the clock for retries and schedules, and assert on what was
/// handled, retried, dead-lettered and published.
/// </summary>
/// <example>
/// <code>
/// await using var app = await AppRuntimeHarness.StartAsync(runtime => runtime.AddRestockModule(), o => o.RunSources = false);
/// await app.PublishAsync(new RestockRequest("SKU-1", 3));
/// await app.RunUntilIdleAsync();
/// Assert.Single(app.Handled&lt;RestockRequest&gt;("restock"));
/// </code>
/// </example>
public sealed class AppRuntimeHarness : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly HarnessBuilder _builder;
    private readonly TaskJournal _journal;
    private readonly CapturingLoggerProvider _logs;
    private readonly AppRuntimeHarnessOptions _options;
    private bool _disposed;

    private AppRuntimeHarness(IHost host, HarnessBuilder builder, TaskJournal journal, CapturingLoggerProvider logs, FakeTimeProvider time,
        AppRuntimeHarnessOptions options)
    {
        _host = host;
        _builder = builder;
        _journal = journal;
        _logs = logs;
        _options = options;
        Time = time;
    }

    /// <summary>The application's services (the host's root provider).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>The runtime: its state, queues, pools and sources.</summary>
    public RuntimeManager Runtime => _host.Services.GetRequiredService<RuntimeManager>();

    /// <summary>The clock of the whole application (queues, retries, leases, sources' intervals). Move it with <see cref="AdvanceTimeAsync"/>.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>Every task event so far, in order.</summary>
    public IReadOnlyList<TaskEvent> Events => _journal.Snapshot();

    /// <summary>Every log entry so far (from <see cref="AppRuntimeHarnessOptions.MinimumLogLevel"/> up).</summary>
    public IReadOnlyList<HarnessLogEntry> Logs => _logs.Snapshot();

    /// <summary>
    /// Builds the host, runs <paramref name="compose"/> (typically the generated <c>runtime =&gt; runtime.AddMyModule()</c>) and starts
    /// the runtime. An invalid configuration fails here with the runtime's <see cref="ConfigValidationException"/>.
    /// </summary>
    public static async Task<AppRuntimeHarness> StartAsync(Action<IAppRuntimeBuilder> compose, Action<AppRuntimeHarnessOptions>? configure = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(compose);
        var options = new AppRuntimeHarnessOptions();
        configure?.Invoke(options);
        var time = new FakeTimeProvider(options.StartTime);
        var journal = new TaskJournal(time);
        var logs = new CapturingLoggerProvider(options.MinimumLogLevel, time);

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        options.ConfigureConfiguration?.Invoke(builder.Configuration);
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["AppRuntime:DrainTimeout"] = "00:00:00",
            ["AppRuntime:ShutdownTimeout"] = "00:00:05",
        };
        foreach (var (key, value) in options.Configuration)
            values[key] = value;
        builder.Configuration.AddInMemoryCollection(values);
        builder.Services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(options.MinimumLogLevel));
        builder.Services.AddSingleton<TimeProvider>(time);

        var runtime = new HarnessBuilder(builder.AddAppRuntime(), options.RunSources, journal);
        compose(runtime);

        // Registered last, so the harness's queues are the ones the runtime finds under these names.
        var durable = new HashSet<string>(options.DurableBackends, StringComparer.OrdinalIgnoreCase);
        durable.UnionWith(runtime.PinnedBackends);
        durable.Remove(InMemoryQueueBackend.BackendName);
        builder.Services.AddSingleton<ITaskQueueBackend>(new RecordingBackend(InMemoryQueueBackend.BackendName, durable: false, time, journal));
        foreach (var name in durable.Order(StringComparer.Ordinal))
            builder.Services.AddSingleton<ITaskQueueBackend>(new RecordingBackend(name, durable: true, time, journal));
        options.ConfigureServices?.Invoke(builder.Services);

        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await DisposeHostAsync(host).ConfigureAwait(false);
            throw;
        }
        return new AppRuntimeHarness(host, runtime, journal, logs, time, options);
    }

    /// <summary>A service of the application.</summary>
    public T GetRequiredService<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    /// <summary>Publishes <paramref name="task"/> into the queue declared for <typeparamref name="T"/>, as an <see cref="ITaskPublisher{T}"/> of the application would.</summary>
    /// <returns>The task id.</returns>
    public ValueTask<string> PublishAsync<T>(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var publisher = _host.Services.GetService<ITaskPublisher<T>>()
            ?? throw new InvalidOperationException($"No queue carries {typeof(T).Name}: declare one with [TaskQueue<{typeof(T).Name}>(...)] on the module.");
        return publisher.PublishAsync(task, options, cancellationToken);
    }

    /// <summary>Publishes <paramref name="task"/> into the queue named <paramref name="queue"/>.</summary>
    /// <returns>The task id.</returns>
    public async ValueTask<string> PublishAsync<T>(string queue, T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        if (_host.Services.GetService<ITaskPublisher<T>>() is { } publisher && publisher.QueueName == queue)
            return await publisher.PublishAsync(task, options, cancellationToken).ConfigureAwait(false);
        var target = Runtime.Queues.FirstOrDefault(q => q.Name == queue) as ITaskQueue<T>
            ?? throw new InvalidOperationException($"There is no queue '{queue}' of {typeof(T).Name}; queues: {string.Join(", ", Runtime.Queues.Select(q => $"{q.Name} ({q.TaskType})"))}.");
        var now = Time.GetUtcNow();
        var envelope = new TaskEnvelope<T>(options?.Id ?? Guid.NewGuid().ToString("N"), target.TaskType, task, now)
        {
            Headers = options?.Headers ?? TaskHeaders.Empty,
            NotBefore = options?.Delay is { } delay ? now + delay : null,
        };
        await target.PublishAsync(envelope, cancellationToken).ConfigureAwait(false);
        return envelope.Id;
    }

    /// <summary>Tasks published into <paramref name="queue"/>, in order (by sources, handlers passing work on, or the test).</summary>
    public IReadOnlyList<T> Published<T>(string queue) => Payloads<T>(queue, TaskEventKind.Published);

    /// <summary>Tasks of <paramref name="queue"/> whose handler succeeded, in order.</summary>
    public IReadOnlyList<T> Handled<T>(string queue) => Payloads<T>(queue, TaskEventKind.Handled);

    /// <summary>Deliveries of <paramref name="queue"/> that failed and will be (or were) tried again, with the error.</summary>
    public IReadOnlyList<TaskRecord<T>> Retried<T>(string queue) => Records<T>(queue, TaskEventKind.Retried);

    /// <summary>Tasks of <paramref name="queue"/> that were dead-lettered, with the reason.</summary>
    public IReadOnlyList<TaskRecord<T>> DeadLettered<T>(string queue) => Records<T>(queue, TaskEventKind.DeadLettered);

    /// <summary>
    /// Waits (in real time, up to <see cref="AppRuntimeHarnessOptions.IdleTimeout"/>) until nothing can happen without the clock
    /// moving: every running source has reported that it caught up (or has returned), no task is ready or in flight in a queue a pool
    /// consumes, no worker is busy, and that held still over several looks. Tasks waiting for a retry delay or a schedule stay
    /// waiting: move the clock with <see cref="AdvanceTimeAsync"/> or <see cref="RunUntilDrainedAsync"/>. Throws
    /// <see cref="TimeoutException"/> saying what was still busy.
    /// </summary>
    public async Task RunUntilIdleAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var clock = Stopwatch.StartNew();
        var quiet = 0;
        var lastActivity = -1L;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var activity = _journal.Activity;
            var busy = await BusyAsync(cancellationToken).ConfigureAwait(false);
            if (busy is null && activity == _journal.Activity)
            {
                quiet = activity == lastActivity ? quiet + 1 : 1;
                lastActivity = activity;
                if (quiet >= 3)
                    return;
            }
            else
            {
                quiet = 0;
                lastActivity = -1;
            }
            if (clock.Elapsed > _options.IdleTimeout)
                throw new TimeoutException($"The application did not become idle within {_options.IdleTimeout.TotalSeconds:0.#} s: {busy ?? "it kept changing"}."
                    + Environment.NewLine + await DescribeAsync(cancellationToken).ConfigureAwait(false));
            await Task.Delay(quiet > 0 ? 5 : 2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves the clock forward by <paramref name="by"/> (timers that come due fire: retry delays end, sources' intervals pass), then
    /// runs until idle. With <paramref name="step"/>, moves in steps of that size and runs until idle after each, so a periodic source
    /// ticks once per period.
    /// </summary>
    public async Task AdvanceTimeAsync(TimeSpan by, TimeSpan? step = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        if (step is { } s && s <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(step), step, "The step must be positive.");
        var left = by;
        do
        {
            var move = step is { } size && size < left ? size : left;
            Time.Advance(move);
            left -= move;
            await RunUntilIdleAsync(cancellationToken).ConfigureAwait(false);
        }
        while (left > TimeSpan.Zero);
    }

    /// <summary>
    /// Runs until idle and, while a consumed queue still holds delayed tasks (retries waiting for their backoff, delayed publishes),
    /// moves the clock to the next one that comes due and runs until idle again; so every task ends handled or dead-lettered.
    /// Fails when that would move the clock more than <paramref name="maxTime"/> (default one day) past where it started.
    /// </summary>
    public async Task RunUntilDrainedAsync(TimeSpan? maxTime = null, CancellationToken cancellationToken = default)
    {
        var start = Time.GetUtcNow();
        var limit = maxTime ?? TimeSpan.FromDays(1);
        while (true)
        {
            await RunUntilIdleAsync(cancellationToken).ConfigureAwait(false);
            var delayed = 0L;
            foreach (var queue in ConsumedQueues())
                delayed += (await queue.GetStatsAsync(cancellationToken).ConfigureAwait(false)).Delayed;
            if (delayed == 0)
                return;
            var now = Time.GetUtcNow();
            var next = _journal.NextDue(now) ?? now + TimeSpan.FromSeconds(1);
            if (next - start > limit)
            {
                throw new TimeoutException($"{delayed} task(s) are still delayed after moving the clock {limit} ahead."
                    + Environment.NewLine + await DescribeAsync(cancellationToken).ConfigureAwait(false));
            }
            Time.Advance(next - now);
        }
    }

    /// <summary>A readable account of the runtime's state: queues, pools, sources, the last task events and warnings.</summary>
    public async Task<string> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        var runtime = Runtime;
        text.Append(CultureInfo.InvariantCulture, $"runtime: {runtime.State}{(runtime.FaultReason is { } fault ? " (" + fault + ")" : "")}, clock {Time.GetUtcNow():O}").AppendLine();
        foreach (var queue in runtime.Queues.OrderBy(q => q.Name, StringComparer.Ordinal))
        {
            var s = await queue.GetStatsAsync(cancellationToken).ConfigureAwait(false);
            text.Append(CultureInfo.InvariantCulture,
                $"queue '{queue.Name}' ({queue.TaskType}, {queue.Backend}): ready {s.Depth}, in flight {s.InFlight}, delayed {s.Delayed}, dead letters {s.DeadLettered}, published {s.Published}, acked {s.Acked}").AppendLine();
        }
        foreach (var pool in runtime.Supervisor.GetSnapshots())
        {
            text.Append(CultureInfo.InvariantCulture, $"pool '{pool.Queue}': {string.Join(", ", pool.Workers.Select(w => $"worker {w.Id} {w.State}{(w.CurrentTaskId is { } id ? " on " + id : "")}{(w.LastError is { } e ? " (last error: " + e + ")" : "")}"))}").AppendLine();
        }
        foreach (var source in _builder.Sources)
        {
            var snapshot = runtime.GetSourceSnapshots().FirstOrDefault(s => s.Name == source.Name);
            text.Append(CultureInfo.InvariantCulture,
                $"source '{source.Name}': {(source.CaughtUp ? "caught up" : "not caught up")}, state {snapshot?.State}, published {snapshot?.Published}{(snapshot?.LastError is { } e ? ", last error: " + e : "")}").AppendLine();
        }
        foreach (var e in _journal.Snapshot().TakeLast(10))
            text.Append(CultureInfo.InvariantCulture, $"event: {e.Kind} {e.Queue}/{e.TaskId} attempt {e.Attempt}{(e.Error is null ? "" : ": " + e.Error)}").AppendLine();
        foreach (var log in _logs.Snapshot().Where(l => l.Level >= LogLevel.Warning).TakeLast(5))
            text.Append(CultureInfo.InvariantCulture, $"log {log.Level} {log.Category}: {log.Message}{(log.Exception is { } x ? " — " + x.Message : "")}").AppendLine();
        return text.ToString();
    }

    /// <summary>Stops the runtime (sources, then workers; nothing waits for the fake clock) and disposes the host.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await DisposeHostAsync(_host).ConfigureAwait(false);
        Time.Advance(TimeSpan.Zero);
    }

    private static async Task DisposeHostAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await host.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        finally
        {
            if (host is IAsyncDisposable disposable)
                await disposable.DisposeAsync().ConfigureAwait(false);
            else
                host.Dispose();
        }
    }

    /// <summary>What keeps the application from being idle, or null.</summary>
    private async ValueTask<string?> BusyAsync(CancellationToken cancellationToken)
    {
        var runtime = Runtime;
        if (runtime.State != RuntimeState.Running)
            return $"the runtime is {runtime.State}{(runtime.FaultReason is { } fault ? ": " + fault : "")}";
        foreach (var source in _builder.Sources)
        {
            if (!source.CaughtUp)
                return $"source '{source.Name}' has not reported that it caught up (ITaskSourceContext.ReportCaughtUp) nor returned";
        }
        foreach (var pool in runtime.Supervisor.GetSnapshots())
        {
            if (pool.Workers.FirstOrDefault(w => w.State == WorkerState.Busy) is { } worker)
                return $"worker {worker.Id} of pool '{pool.Queue}' is running task {worker.CurrentTaskId}";
        }
        foreach (var queue in ConsumedQueues())
        {
            var stats = await queue.GetStatsAsync(cancellationToken).ConfigureAwait(false);
            if (stats.Depth > 0 || stats.InFlight > 0)
                return $"queue '{queue.Name}' has {stats.Depth} task(s) ready and {stats.InFlight} in flight";
        }
        return null;
    }

    private IEnumerable<ITaskQueue> ConsumedQueues()
    {
        var pooled = Runtime.Supervisor.Pools.Select(p => p.Queue).ToHashSet(StringComparer.Ordinal);
        return Runtime.Queues.Where(q => pooled.Contains(q.Name));
    }

    private List<T> Payloads<T>(string queue, TaskEventKind kind) =>
        [.. _journal.Snapshot().Where(e => e.Kind == kind && e.Queue == queue && e.Payload is T).Select(e => (T)e.Payload!)];

    private List<TaskRecord<T>> Records<T>(string queue, TaskEventKind kind) =>
        [.. _journal.Snapshot().Where(e => e.Kind == kind && e.Queue == queue && e.Payload is T).Select(e => new TaskRecord<T>(e.TaskId, (T)e.Payload!, e.Attempt, e.Error))];
}
