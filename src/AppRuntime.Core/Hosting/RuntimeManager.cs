using AppRuntime.Internal;
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
/// <see cref="AppRuntimeOptions.DrainTimeout"/>, workers finish the task in hand (until <see cref="AppRuntimeOptions.ShutdownTimeout"/>
/// or the host's shutdown token; then handlers are cancelled and their tasks released back to the queue), traces flush.
/// </summary>
public sealed partial class RuntimeManager : IHostedService
{
    private readonly RuntimeRegistry _registry;
    private readonly RuntimeServices _services;
    private readonly ConfigurationManager _config;
    private readonly QueueManager _queues;
    private readonly WorkerSupervisor _supervisor;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<string, IRuntimeSource> _sources = new(StringComparer.Ordinal);
    private volatile RuntimeState _state = RuntimeState.Created;
    private RuntimeMetrics? _metrics;

    internal RuntimeManager(RuntimeRegistry registry, RuntimeServices services, ConfigurationManager config, QueueManager queues,
        WorkerSupervisor supervisor, IHostApplicationLifetime? lifetime)
    {
        _registry = registry;
        _services = services;
        _config = config;
        _queues = queues;
        _supervisor = supervisor;
        _lifetime = lifetime;
        _logger = services.Loggers.CreateLogger("AppRuntime.Runtime");
    }

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

    /// <summary>The state of every source.</summary>
    public IReadOnlyList<SourceSnapshot> GetSourceSnapshots()
    {
        lock (_lock)
            return [.. _sources.Values.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => s.GetSnapshot())];
    }

    internal IRuntimeSource GetSource(string name)
    {
        lock (_lock)
            return _sources.TryGetValue(name, out var s) ? s : throw new UnknownComponentException("source", name);
    }

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
        try
        {
            // 1. Configuration: every section bound and validated, every platform key checked, all errors at once.
            var errors = CheckConfiguration(out var backends);
            if (errors.Count > 0)
                throw new ConfigValidationException(errors);

            // 2. Services: the declared wiring must be complete before anything runs.
            var problems = _registry.Validate();
            if (problems.Count > 0)
                throw new InvalidOperationException("The AppRuntime composition is invalid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)));

            // 3. Queues.
            _queues.CreateAll(_registry, backends);
            _metrics ??= new RuntimeMetrics(_services.Trace.Meter, _queues, _supervisor);

            // 4. Worker pools.
            foreach (var (queue, pool) in _registry.Pools.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                pool.Validate();
                _queues.TryGet(queue, out var q);
                var observers = _registry.Observers.Where(o => o.Queue == queue);
                _supervisor.Add(_registry.Queues[queue].CreatePool(q, pool, _registry.Handlers[queue], observers, _services));
            }
            _supervisor.StartAll();

            // 5. Sources.
            lock (_lock)
            {
                foreach (var source in _registry.Sources)
                {
                    _queues.TryGet(source.Definition.Queue, out var q);
                    _sources[source.Definition.Name] = _registry.Queues[source.Definition.Queue].CreateSource(q, source, _services);
                }
            }
            foreach (var source in _sources.Values)
                source.Start();

            StartedAt = _services.Time.GetUtcNow();
            SetState(RuntimeState.Running);
            Log.Started(_logger, _registry.Queues.Count, _registry.Pools.Count, _sources.Count);
        }
        catch (Exception ex)
        {
            FaultReason = ex.Message;
            SetState(RuntimeState.Faulted);
            Log.StartFailed(_logger, ex.Message);
            throw;
        }
        return Task.CompletedTask;
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
        var options = _services.Options;
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        abort.CancelAfter(options.ShutdownTimeout);

        // 1. Sources stop: nothing new comes in.
        IRuntimeSource[] sources;
        lock (_lock)
            sources = [.. _sources.Values];
        await Task.WhenAll(sources.Select(s => s.StopAsync())).ConfigureAwait(false);
        foreach (var s in sources)
            (s as IDisposable)?.Dispose();

        // 2. Queues drain until the deadline.
        await DrainAsync(options.DrainTimeout, abort.Token).ConfigureAwait(false);

        // 3. Workers finish the task in hand; whatever is left stays in (or is released back to) its queue.
        await _supervisor.StopAllAsync(abort.Token).ConfigureAwait(false);

        // 4. Traces flush.
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

        var left = 0L;
        foreach (var q in _queues.All)
        {
            var stats = await q.GetStatsAsync(CancellationToken.None).ConfigureAwait(false);
            left += stats.Depth + stats.Delayed + stats.InFlight;
        }
        SetState(RuntimeState.Stopped);
        Log.Stopped(_logger, left);
    }

    private async Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout <= TimeSpan.Zero)
            return;
        var deadline = _services.Time.GetUtcNow() + timeout;
        var consumed = _queues.All.Where(q => _registry.Pools.ContainsKey(q.Name)).ToList();
        while (true)
        {
            var busy = false;
            foreach (var q in consumed)
            {
                var s = await q.GetStatsAsync(cancellationToken).ConfigureAwait(false);
                if (s.Depth > 0 || s.InFlight > 0)
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

    /// <summary>
    /// Binds and validates every configuration section and the platform keys (queue backends, pool sizes); returns every problem,
    /// with secret values masked. Used at start and by <see cref="AppRuntimeConsole"/> before the host starts.
    /// </summary>
    internal List<ConfigError> CheckConfiguration(out Dictionary<string, ITaskQueueBackend> backends)
    {
        var errors = new ConfigErrors();
        try
        {
            _config.Initialize();
        }
        catch (ConfigValidationException ex)
        {
            errors.AddRange(ex.Errors);
        }
        backends = _queues.ResolveBackends(_registry, errors);
        ReadPoolOverrides(errors);
        return [.. errors.Items.Select(_config.Redact)];
    }

    private void ReadPoolOverrides(ConfigErrors errors)
    {
        foreach (var (queue, pool) in _registry.Pools.ToList())
        {
            var key = $"AppRuntime:Pools:{queue}:Workers";
            var value = _config.Configuration[key];
            if (value is null)
                continue;
            if (int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var workers) && workers >= 1)
                _registry.Pools[queue] = pool with { Workers = workers };
            else
                errors.Add(key, $"must be a whole number of at least 1 (was '{value}')");
        }
    }

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
        [LoggerMessage(30, LogLevel.Information, "AppRuntime started: {Queues} queue(s), {Pools} worker pool(s), {Sources} source(s)")]
        public static partial void Started(ILogger logger, int queues, int pools, int sources);

        [LoggerMessage(31, LogLevel.Critical, "AppRuntime failed to start: {Reason}")]
        public static partial void StartFailed(ILogger logger, string reason);

        [LoggerMessage(32, LogLevel.Information, "AppRuntime stopped; {Left} task(s) remain queued for the next start")]
        public static partial void Stopped(ILogger logger, long left);

        [LoggerMessage(33, LogLevel.Warning, "Flushing telemetry on stop failed")]
        public static partial void FlushFailed(ILogger logger, Exception exception);
    }
}
