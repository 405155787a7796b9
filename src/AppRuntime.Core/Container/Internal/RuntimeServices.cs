using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>The shared services every pool and source runner needs, resolved once.</summary>
internal sealed class RuntimeServices(IServiceProvider services, TimeProvider time, TraceService trace, ILoggerFactory loggers, Func<AppRuntimeOptions> options,
    IEnumerable<ServiceDescriptor>? registrations = null)
{
    private SingletonServices? _singletons;

    public IServiceProvider Services { get; } = services;
    public IServiceScopeFactory ScopeFactory { get; } = services.GetRequiredService<IServiceScopeFactory>();

    /// <summary>
    /// The services of the tasks of <paramref name="queue"/>: singletons from the root, a DI scope per task opened only when
    /// something else is resolved. Without the registrations (a runtime built by hand in a test) nothing counts as a singleton and
    /// every resolution opens the scope.
    /// </summary>
    public TaskServices<T> CreateTaskServices<T>(ITaskQueue<T> queue) => new(queue, Services, ScopeFactory, _singletons ??= FindSingletons());

    /// <summary>
    /// The singletons the lazy task scope may take from the root: only with Microsoft's container, whose lifetimes the
    /// registrations describe (another container may have registered a type again with another lifetime).
    /// </summary>
    private SingletonServices FindSingletons() => registrations is not null
        && Services.GetType().Assembly == typeof(ServiceProvider).Assembly // its root provider, or the root scope factories get
        ? new SingletonServices(registrations)
        : SingletonServices.None;
    public TimeProvider Time { get; } = time;
    public TraceService Trace { get; } = trace;
    public ILoggerFactory Loggers { get; } = loggers;
    public Settlements Settlements { get; } = new();

    /// <summary>Source checkpoints of queues whose backend keeps none (the in-memory queue): per process, lost on restart.</summary>
    public InMemorySourceCheckpoints Checkpoints { get; } = new();

    /// <summary>The platform settings as last bound (valid once the configuration was checked at start; follows valid reloads).</summary>
    public AppRuntimeOptions Options => options();

    /// <summary>This process as the other instances see it: its id holds source leases and names its heartbeat.</summary>
    public RuntimeInstanceInfo Instance { get; } = CreateInstance(time);

    private static RuntimeInstanceInfo CreateInstance(TimeProvider time)
    {
        var host = Environment.MachineName;
        var pid = Environment.ProcessId;
        var entry = System.Reflection.Assembly.GetEntryAssembly();
        var version = entry is null ? "" : System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(entry)
            ?.InformationalVersion ?? entry.GetName().Version?.ToString() ?? "";
        var id = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{host}:{pid}:{Guid.NewGuid().ToString("N")[..8]}");
        return new RuntimeInstanceInfo(id, host, pid, version, time.GetUtcNow());
    }
}

/// <summary>An awaitable open/closed gate (pause/resume) without polling.</summary>
internal sealed class AsyncGate
{
    private readonly object _lock = new();
    private TaskCompletionSource _open;

    public AsyncGate(bool open)
    {
        _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
            _open.SetResult();
    }

    public bool IsOpen
    {
        get { lock (_lock) return _open.Task.IsCompleted; }
    }

    public void Open()
    {
        lock (_lock)
            _open.TrySetResult();
    }

    public void Close()
    {
        lock (_lock)
        {
            if (_open.Task.IsCompleted)
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public Task WaitAsync(CancellationToken cancellationToken)
    {
        Task task;
        lock (_lock)
            task = _open.Task;
        return task.IsCompleted ? Task.CompletedTask : task.WaitAsync(cancellationToken);
    }
}

/// <summary>Source checkpoints kept in the process's memory, for queues whose backend does not keep them.</summary>
internal sealed class InMemorySourceCheckpoints : ISourceCheckpointStore
{
    private readonly Dictionary<(string Source, string Name), string> _values = [];

    public ValueTask<string?> GetCheckpointAsync(string source, string name, CancellationToken cancellationToken = default)
    {
        lock (_values)
            return ValueTask.FromResult(_values.TryGetValue((source, name), out var value) ? value : null);
    }

    public ValueTask<bool> TrySetCheckpointAsync(string source, string name, string? expected, string value, CancellationToken cancellationToken = default)
    {
        lock (_values)
        {
            _values.TryGetValue((source, name), out var current);
            if (!string.Equals(current, expected, StringComparison.Ordinal))
                return ValueTask.FromResult(false);
            _values[(source, name)] = value;
            return ValueTask.FromResult(true);
        }
    }
}
