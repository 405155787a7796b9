namespace AppRuntime.Internal;

/// <summary>
/// Counts the tasks a queue holds against its capacity. Acquiring and releasing are one interlocked operation each
/// while there is room; only a publisher that finds the queue full allocates a waiter and takes the lock.
/// </summary>
/// <remarks>
/// Lost wake-ups are ruled out by ordering: a waiter registers itself (interlocked) before it retries the count, and a
/// releaser decrements the count (interlocked) before it looks for waiters, so one of the two always sees the other.
/// Waiters are woken in arrival order, but a publisher on the fast path may take a freed slot first (no strict fairness).
/// </remarks>
internal sealed class QueueCapacityGate
{
    private readonly int _capacity;
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private int _count;
    private int _waiterCount;
    private bool _disposed;

    private readonly object _owner;

    public QueueCapacityGate(int capacity, object owner)
    {
        _capacity = capacity;
        _owner = owner;
    }

    /// <summary>Slots in use (may exceed the capacity after <see cref="ForceAcquire"/>).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Takes a slot when one is free.</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _count);
        while (current < _capacity)
        {
            var seen = Interlocked.CompareExchange(ref _count, current + 1, current);
            if (seen == current)
                return true;
            current = seen;
        }
        return false;
    }

    /// <summary>Takes a slot even when the queue is full (dead letters moved back by an operator).</summary>
    public void ForceAcquire() => Interlocked.Increment(ref _count);

    /// <summary>Waits for a slot. Throws <see cref="OperationCanceledException"/> or, after disposal, <see cref="ObjectDisposedException"/>.</summary>
    public ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        return TryAcquire() ? default : WaitForSlotAsync(cancellationToken);
    }

    /// <summary>Gives a slot back and wakes one waiting publisher, if any.</summary>
    public void Release()
    {
        Interlocked.Decrement(ref _count);
        if (Volatile.Read(ref _waiterCount) > 0)
            WakeOne();
    }

    /// <summary>Fails every waiting publisher with <see cref="ObjectDisposedException"/>; later waits fail at once.</summary>
    public void Dispose()
    {
        TaskCompletionSource[] waiters;
        lock (_waiters)
        {
            _disposed = true;
            waiters = [.. _waiters];
            _waiters.Clear();
            _waiterCount = 0;
        }
        foreach (var waiter in waiters)
            waiter.TrySetException(new ObjectDisposedException(_owner.ToString()));
    }

    private async ValueTask WaitForSlotAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            LinkedListNode<TaskCompletionSource> node;
            lock (_waiters)
            {
                ObjectDisposedException.ThrowIf(_disposed, _owner);
                node = _waiters.AddLast(waiter);
                Interlocked.Increment(ref _waiterCount);
            }

            if (TryAcquire())
            {
                Leave(node);
                return;
            }

            using (cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource)state!).TrySetCanceled(token), waiter))
            {
                try
                {
                    await waiter.Task.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Leave(node);
                    throw;
                }
            }

            if (TryAcquire())
                return;
        }
    }

    /// <summary>Removes a waiter that no longer waits; if a releaser already picked it, hands that wake-up to the next waiter.</summary>
    private void Leave(LinkedListNode<TaskCompletionSource> node)
    {
        lock (_waiters)
        {
            if (node.List is not null)
            {
                _waiters.Remove(node);
                Interlocked.Decrement(ref _waiterCount);
                return;
            }
        }
        if (!_disposed)
            WakeOne();
    }

    private void WakeOne()
    {
        lock (_waiters)
        {
            while (_waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                Interlocked.Decrement(ref _waiterCount);
                if (first.Value.TrySetResult())
                    return;
            }
        }
    }
}
