using System.Collections.Concurrent;

namespace AppRuntime.Internal;

/// <summary>Told when a task published by a source is settled for good (succeeded or dead-lettered).</summary>
internal interface ISettlementListener
{
    void OnSettled(string taskId);
}

/// <summary>
/// Routes "this task is settled" from the processors to the sources that published into each queue, and wakes whoever waits for
/// the runtime to drain. A queue without sources costs one volatile read per settlement.
/// </summary>
internal sealed class Settlements
{
    private readonly ConcurrentDictionary<string, QueueSettlements> _queues = new(StringComparer.Ordinal);
    private readonly object _pulseLock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public QueueSettlements For(string queue) => _queues.GetOrAdd(queue, static (_, owner) => new QueueSettlements(owner), this);

    /// <summary>A task that completes at the next settlement or source progress report.</summary>
    public Task NextChange
    {
        get
        {
            lock (_pulseLock)
                return _changed.Task;
        }
    }

    /// <summary>Wakes everyone waiting on <see cref="NextChange"/>.</summary>
    public void Pulse()
    {
        TaskCompletionSource changed;
        lock (_pulseLock)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }
}

/// <summary>The settlement listeners of one queue.</summary>
internal sealed class QueueSettlements(Settlements owner)
{
    private readonly object _lock = new();
    private ISettlementListener[] _listeners = [];

    public void Add(ISettlementListener listener)
    {
        lock (_lock)
            Volatile.Write(ref _listeners, [.. _listeners, listener]);
    }

    public void Remove(ISettlementListener listener)
    {
        lock (_lock)
            Volatile.Write(ref _listeners, [.. _listeners.Where(l => !ReferenceEquals(l, listener))]);
    }

    public void Settled(string taskId)
    {
        var listeners = Volatile.Read(ref _listeners);
        if (listeners.Length == 0)
            return;
        foreach (var listener in listeners)
            listener.OnSettled(taskId);
        owner.Pulse();
    }
}
