using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>The shared services every pool and source runner needs, resolved once.</summary>
internal sealed class RuntimeServices(IServiceProvider services, TimeProvider time, TraceService trace, ILoggerFactory loggers, Func<AppRuntimeOptions> options)
{
    public IServiceProvider Services { get; } = services;
    public IServiceScopeFactory ScopeFactory { get; } = services.GetRequiredService<IServiceScopeFactory>();
    public TimeProvider Time { get; } = time;
    public TraceService Trace { get; } = trace;
    public ILoggerFactory Loggers { get; } = loggers;
    public Settlements Settlements { get; } = new();

    /// <summary>The platform settings as last bound (valid once the configuration was checked at start; follows valid reloads).</summary>
    public AppRuntimeOptions Options => options();
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
