using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime;

/// <summary>The runtime's lifecycle states.</summary>
public enum RuntimeState
{
    /// <summary>Built, not started.</summary>
    Created,

    /// <summary>Loading configuration, creating queues, starting pools and sources.</summary>
    Starting,

    /// <summary>Processing.</summary>
    Running,

    /// <summary>Stopping sources, draining queues, finishing tasks in hand.</summary>
    Stopping,

    /// <summary>Stopped.</summary>
    Stopped,

    /// <summary>Start failed; see <see cref="RuntimeManager.FaultReason"/>.</summary>
    Faulted,
}

/// <summary>
/// The platform facade (seed: RuntimeManager) and the host's <see cref="IHostedService"/>. Starts in order configuration →
/// services → queues → worker pools → sources, and stops in reverse: sources stop, queues drain until
/// <see cref="AppRuntimeOptions.DrainTimeout"/> (a queue shared with other instances only of this instance's own tasks), workers
/// finish the task in hand (until <see cref="AppRuntimeOptions.ShutdownTimeout"/> or the host's shutdown token; then handlers are
/// cancelled and their tasks released back to the queue), traces flush.
/// </summary>
public sealed partial class RuntimeManager : IHostedService, IDisposable
{
    private readonly RuntimeRegistry _registry;
    private readonly RuntimeServices _services;
    private readonly ConfigurationManager _config;
    private readonly QueueManager _queues;
    private readonly WorkerSupervisor _supervisor;
    private readonly SourceSupervisor _sources;
    private readonly IReadOnlyList<ITaskQueueBackend> _backends;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private volatile RuntimeState _state = RuntimeState.Created;
    private RuntimeMetrics? _metrics;
    private RuntimePlan? _plan;
    private Task? _untilDrained;

    internal RuntimeManager(RuntimeRegistry registry, RuntimeServices services, ConfigurationManager config, QueueManager queues,
        WorkerSupervisor supervisor, SourceSupervisor sources, IEnumerable<ITaskQueueBackend> backends, IHostApplicationLifetime? lifetime,
        ClusterMembership? cluster = null)
    {
        _cluster = cluster;
        _registry = registry;
        _services = services;
        _config = config;
        _queues = queues;
        _supervisor = supervisor;
        _sources = sources;
        _backends = [.. backends];
        _lifetime = lifetime;
        _logger = services.Loggers.CreateLogger("AppRuntime.Runtime");
    }

    private readonly ClusterMembership? _cluster;

    /// <summary>The current state.</summary>
    public RuntimeState State => _state;

    /// <summary>When the runtime reached <see cref="RuntimeState.Running"/>.</summary>
    public DateTimeOffset? StartedAt { get; private set; }

    /// <summary>Why the runtime faulted.</summary>
    public string? FaultReason { get; private set; }

    /// <summary>Raised on every state change.</summary>
    public event EventHandler<RuntimeState>? StateChanged;

    /// <summary>The declared modules.</summary>
    public IReadOnlyList<ModuleTopology> Modules => [.. _registry.Modules];

    /// <summary>The queues (after start).</summary>
    public IReadOnlyCollection<ITaskQueue> Queues => _queues.All;

    /// <summary>The worker supervisor.</summary>
    public WorkerSupervisor Supervisor => _supervisor;

    /// <summary>The source supervisor.</summary>
    public SourceSupervisor Sources => _sources;

    /// <summary>The state of every source.</summary>
    public IReadOnlyList<SourceSnapshot> GetSourceSnapshots() => _sources.GetSnapshots();

    /// <summary>Returns a queue by name, typed.</summary>
    public ITaskQueue<T> GetQueue<T>(string name) => _queues.Get<T>(name);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_state != RuntimeState.Created)
                throw new InvalidOperationException($"The runtime cannot start from state {_state}.");
            SetState(RuntimeState.Starting);
        }
        // Each phase is timed, so a slow start names the phase that took the time (the "AppRuntime started" line shows them).
        var time = _services.Time;
        var phase = time.GetTimestamp();
        var begun = phase;
        TimeSpan Lap()
        {
            var now = time.GetTimestamp();
            var elapsed = time.GetElapsedTime(phase, now);
            phase = now;
            return elapsed;
        }
        try
        {
            // 1. Configuration: every section (the application's and the platform's) bound and validated, and the plan made
            //    from the declarations and the platform settings; all errors at once.
            var errors = CheckConfiguration(out var plan);
            if (errors.Count > 0)
                throw new ConfigValidationException(errors);
            if (_services.Services.GetService<LogOutputLimits>() is { } logLimits)
                logLimits.MaxMessageLength = plan!.Options.MaxLogMessageLength;

            // 2. Services: the declared wiring must be complete before anything runs, imports included.
            var problems = _registry.Validate();
            problems.AddRange(MissingImports());
            if (problems.Count > 0)
                throw new InvalidOperationException("The AppRuntime composition is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));

            var configuration = Lap();

            // 3. Queues.
            _queues.CreateAll(plan!);
            _metrics ??= new RuntimeMetrics(_services.Trace.Meter, _queues, _supervisor);
            var queues = Lap();

            // 4. Worker pools.
            foreach (var pool in plan!.Pools)
            {
                _queues.TryGet(pool.Definition.Queue, out var q);
                _supervisor.Add(pool.Queue.CreatePool(q, pool.Definition, pool.Handler, pool.Observers, _services));
            }
            _supervisor.StartAll();
            var pools = Lap();

            // 5. Sources.
            foreach (var source in plan.Sources)
            {
                _queues.TryGet(source.Definition.Queue, out var q);
                _sources.Add(_registry.Queues[source.Definition.Queue].CreateSource(q, source, _services));
            }
            _sources.StartAll();
            _cluster?.Start();
            var sources = Lap();

            StartedAt = _services.Time.GetUtcNow();
            SetState(RuntimeState.Running);
            Log.Started(_logger, plan.Queues.Count, plan.Pools.Count, plan.Sources.Count, Ms(time.GetElapsedTime(begun)), Ms(configuration), Ms(queues),
                Ms(pools), Ms(sources));
            if (_registry.Modules.Count == 0)
                Log.NoModule(_logger, plan.Queues.Count);
            if (plan.Options.RunMode == RunMode.UntilDrained)
                _untilDrained = RunUntilDrainedAsync();
        }
        catch (Exception ex)
        {
            // Shown by /health (no token) and /api/status: masked like every other place that may quote a connection string.
            FaultReason = ConfigRedaction.RedactValue(ex.Message);
            SetState(RuntimeState.Faulted);
            Log.StartFailed(_logger, FaultReason);
            throw;
        }
        return Task.CompletedTask;
    }

    private static double Ms(TimeSpan elapsed) => Math.Round(elapsed.TotalMilliseconds, 1);

    /// <summary>
    /// True when every source has looked at all its input once, everything the sources published has settled, and every queue
    /// that a pool consumes is empty (nothing ready, delayed or in flight), so work that handlers passed on is done too.
    /// </summary>
    public async ValueTask<bool> IsDrainedAsync(CancellationToken cancellationToken = default)
    {
        if (_state != RuntimeState.Running || !_sources.AllDrained)
            return false;
        foreach (var pool in _plan?.Pools ?? [])
        {
            if (!_queues.TryGet(pool.Definition.Queue, out var q))
                continue;
            QueueStats stats;
            try
            {
                stats = await q.GetStatsAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (QueueBackendUnavailableException)
            {
                return false; // cannot tell while the backend is away: not drained yet
            }
            if (stats.Depth + stats.Delayed + stats.InFlight > 0)
                return false;
        }
        return true;
    }

    /// <summary>Waits until <see cref="IsDrainedAsync"/> is true: woken by every settlement and source report, and checked at least every 250 ms.</summary>
    public async Task WaitUntilDrainedAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var change = _services.Settlements.NextChange;
            if (await IsDrainedAsync(cancellationToken).ConfigureAwait(false))
                return;
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var recheck = Task.Delay(TimeSpan.FromMilliseconds(250), _services.Time, wake.Token);
            await Task.WhenAny(change, recheck).ConfigureAwait(false);
            await wake.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// With <see cref="RunMode.UntilDrained"/>: the exception of a drain observer that failed (the application stopped anyway; the
    /// console runner then exits with <see cref="AppRuntimeConsole.DrainObserverFailedExitCode"/>). Null while none failed.
    /// </summary>
    public Exception? DrainObserverFailure { get; private set; }

    /// <summary><see cref="RunMode.UntilDrained"/>: once drained, tells every <see cref="IDrainObserver"/> and stops the application.</summary>
    private async Task RunUntilDrainedAsync()
    {
        try
        {
            await WaitUntilDrainedAsync(_stopping.Token).ConfigureAwait(false);
            Log.Drained(_logger);
            foreach (var observer in _services.Services.GetServices<IDrainObserver>())
                await observer.OnDrainedAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return; // stopped before it drained
        }
#pragma warning disable CA1031 // A failing drain observer must not keep the application running: it is logged, and the app stops.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            DrainObserverFailure = ex;
            Log.DrainObserverFailed(_logger, ex);
        }
        if (_lifetime is not null)
            _lifetime.StopApplication();
        else
            Log.NoLifetime(_logger);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_state is RuntimeState.Stopped or RuntimeState.Stopping or RuntimeState.Created)
                return;
            SetState(RuntimeState.Stopping);
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_untilDrained is not null)
            await _untilDrained.ConfigureAwait(false);
        var options = _services.Options;
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        abort.CancelAfter(options.ShutdownTimeout);

        // 1. Sources stop: nothing new comes in (an exclusive source gives its lease up, so another instance takes over at once).
        await _sources.StopAllAsync().ConfigureAwait(false);

        // 2. Queues drain until the deadline.
        await DrainAsync(options.DrainTimeout, abort.Token).ConfigureAwait(false);

        // 3. Workers finish the task in hand; whatever is left stays in (or is released back to) its queue.
        await _supervisor.StopAllAsync(abort.Token).ConfigureAwait(false);

        // 4. Queues close: a durable queue gives back what it leased ahead and no longer counts this process as a consumer.
        //    The log line counts this instance's own tasks only: what its own queues still hold, and what it gives back to
        //    shared queues (never the tasks other instances hold or nobody took).
        var left = 0L;
        var returned = 0L;
        foreach (var q in _queues.All)
        {
            if (q is ISharedTaskQueue shared)
            {
                returned += shared.Buffered;
                continue;
            }
            try
            {
                var stats = await q.GetStatsAsync(abort.Token).ConfigureAwait(false);
                left += stats.Depth + stats.Delayed + stats.InFlight;
            }
#pragma warning disable CA1031 // The count is for the log line only; a backend that is down must not stop the stop.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
        await _queues.CloseDurableQueuesAsync().ConfigureAwait(false);
        if (_cluster is not null)
            await _cluster.StopAsync().ConfigureAwait(false);

        // 5. Traces flush.
        try
        {
            await _services.Trace.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failing exporter must not prevent a clean stop; it is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.FlushFailed(_logger, ex);
        }

        SetState(RuntimeState.Stopped);
        Log.Stopped(_logger, left, returned);
    }

    /// <summary>
    /// Waits, until <paramref name="timeout"/>, for this instance's own work in the queues its pools consume. A queue of its own
    /// (in memory) is drained: nothing ready, nothing in flight. A queue shared with other instances
    /// (<see cref="ISharedTaskQueue"/>) stops leasing first; then only the tasks this instance holds count: those its workers
    /// have in hand and those it leased ahead. Tasks other instances hold, or nobody took yet, are theirs.
    /// </summary>
    private async Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var consumed = _queues.All.Where(q => _registry.Pools.ContainsKey(q.Name)).ToList();
        foreach (var q in consumed)
        {
            if (q is ISharedTaskQueue shared)
                shared.StopLeasing();
        }
        if (timeout <= TimeSpan.Zero)
            return;
        var deadline = _services.Time.GetUtcNow() + timeout;
        while (true)
        {
            var busy = false;
            foreach (var q in consumed)
            {
                bool queued;
                if (q is ISharedTaskQueue shared)
                    queued = OwnWork(q.Name, shared) > 0;
                else
                {
                    try
                    {
                        queued = await QueuedAsync(q, cancellationToken).ConfigureAwait(false);
                    }
                    catch (QueueBackendUnavailableException ex)
                    {
                        // Nothing can be drained from a backend that is away; what it holds stays there for the next start.
                        Log.DrainSkipped(_logger, ex.Message);
                        return;
                    }
                }
                if (queued)
                {
                    busy = true;
                    break;
                }
            }
            if (!busy || _services.Time.GetUtcNow() >= deadline || cancellationToken.IsCancellationRequested)
                return;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), _services.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The tasks of a shared queue this instance holds: in its workers' hands, and leased ahead unless its pool is paused.</summary>
    private int OwnWork(string queue, ISharedTaskQueue shared)
    {
        if (!_supervisor.TryGetPool(queue, out var pool))
            return 0;
        var snapshot = pool.GetSnapshot();
        var inHand = snapshot.Workers.Count(w => w.CurrentTaskId is not null);
        return snapshot.Paused ? inHand : inHand + shared.Buffered;
    }

    private static async ValueTask<bool> QueuedAsync(ITaskQueue queue, CancellationToken cancellationToken)
    {
        var s = await queue.GetStatsAsync(cancellationToken).ConfigureAwait(false);
        return s.Depth > 0 || s.InFlight > 0;
    }

    /// <summary>
    /// Binds and validates every configuration section (the application's and the platform's <c>AppRuntime</c> sections) and
    /// makes the start plan (backends, worker counts); returns every problem, with secret values masked. Used at start and by
    /// <see cref="AppRuntimeConsole"/> before the host starts. On success the bound values become current.
    /// </summary>
    internal List<ConfigError> CheckConfiguration(out RuntimePlan? plan)
    {
        var (values, bindErrors) = _config.BindAll();
        var errors = new ConfigErrors();
        errors.AddRange(bindErrors);
        // The plan is checked even when a section is invalid, so that every problem is reported in one pass: a platform section
        // with errors is bound once more, as far as it goes, for the plan's checks (its own errors are reported already).
        var options = values.TryGetValue(AppRuntimeOptions.SectionPath, out var bound)
            ? (AppRuntimeOptions)bound
            : _registry.ConfigSections.First(s => s.Path == AppRuntimeOptions.SectionPath).Bind(_config.Configuration, new ConfigErrors()) as AppRuntimeOptions
              ?? new AppRuntimeOptions();
        plan = RuntimePlan.Build(_registry, options, _backends, _config.Configuration, errors);
        if (errors.IsEmpty)
        {
            _config.Initialize(values);
            _plan ??= plan;
        }
        else
        {
            plan = null;
        }
        return [.. errors.Items.Select(_config.Redact)];
    }

    /// <summary>
    /// Every <c>[ImportService(typeof(T))]</c> whose service nothing registered: a task that needs it would fail on every attempt, so
    /// the runtime refuses to start instead. Needs the container's <see cref="IServiceProviderIsService"/> (Microsoft.Extensions.DependencyInjection has it).
    /// </summary>
    private IEnumerable<string> MissingImports()
    {
        if (_services.Services.GetService<IServiceProviderIsService>() is not { } isService)
            yield break;
        foreach (var import in _services.Services.GetServices<ImportedService>())
        {
            if (!isService.IsService(import.ServiceType))
            {
                yield return $"Module '{import.Module}' imports {import.ServiceType.FullName} ([ImportService(typeof({import.ServiceType.Name}))]), but nothing registers it: " +
                    $"add it to the host's services before the host is built (builder.Services.AddSingleton<{import.ServiceType.Name}>(...)).";
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    internal void RequestStop()
    {
        if (_lifetime is null)
            throw new InvalidOperationException("No host lifetime is registered; stop the runtime with StopAsync.");
        _lifetime.StopApplication();
    }

    private void SetState(RuntimeState state)
    {
        _state = state;
        StateChanged?.Invoke(this, state);
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "AppRuntime started: {Queues} queue(s), {Pools} worker pool(s), {Sources} source(s) in {ElapsedMs} ms (configuration {ConfigurationMs} ms, queues {QueuesMs} ms, worker pools {PoolsMs} ms, sources {SourcesMs} ms)")]
        public static partial void Started(ILogger logger, int queues, int pools, int sources, double elapsedMs, double configurationMs, double queuesMs, double poolsMs, double sourcesMs);

        [LoggerMessage(31, LogLevel.Critical, "AppRuntime failed to start: {Reason}")]
        public static partial void StartFailed(ILogger logger, string reason);

        [LoggerMessage(32, LogLevel.Information, "AppRuntime stopped; {Left} task(s) remain in its own queues; {Returned} task(s) it had leased ahead went back to shared queues")]
        public static partial void Stopped(ILogger logger, long left, long returned);

        [LoggerMessage(33, LogLevel.Warning, "Flushing telemetry on stop failed")]
        public static partial void FlushFailed(ILogger logger, Exception exception);

        [LoggerMessage(34, LogLevel.Information, "AppRuntime drained: every source looked at all its input and every task settled; stopping (RunMode UntilDrained)")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(35, LogLevel.Error, "A drain observer failed; stopping anyway")]
        public static partial void DrainObserverFailed(ILogger logger, Exception exception);

        [LoggerMessage(37, LogLevel.Warning, "Stopping without draining: {Reason}")]
        public static partial void DrainSkipped(ILogger logger, string reason);

        [LoggerMessage(36, LogLevel.Warning, "AppRuntime drained (RunMode UntilDrained) but no host lifetime is registered to stop the application")]
        public static partial void NoLifetime(ILogger logger);

        [LoggerMessage(37, LogLevel.Warning, "AppRuntime started with no application module ({Queues} queue(s) registered by hand): the generated Add<Module>() of your [ApplicationModule] was never called; call builder.AddAppRuntime().Add<Module>()")]
        public static partial void NoModule(ILogger logger, int queues);
    }
}
