namespace AppRuntime.Internal;

/// <summary>
/// Publishers parked at capacity until a pub/sub 'f' (capacity freed) arrives. The notification says how much room there is
/// now: <see cref="Wake"/> wakes that many of the longest waiting, in order, so a full queue under load is not retried by every
/// parked publisher for each few freed slots (they would all send their payloads, and all but a few find it full again). A
/// woken waiter that does not take its slot (cancelled, or its publish turned out a duplicate) passes the turn on
/// (<see cref="Wake"/> with 1). Waiters also time out, so a lost notification, or room that another instance took, only delays.
/// (Consumers park in <see cref="ConsumerGate{TItem}"/>.)
/// </summary>
internal sealed class WakeSignal
{
    private readonly Lock _gate = new();
    private readonly LinkedList<TaskCompletionSource<bool>> _waiters = new();

    /// <summary>Publishers parked now (for tests).</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
                return _waiters.Count;
        }
    }

    /// <summary>
    /// Waits until woken (true), <paramref name="timeout"/> passes (real time; false) or <paramref name="cancellationToken"/>
    /// fires (throws; a wake that came first is passed on).
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        LinkedListNode<TaskCompletionSource<bool>> node;
        lock (_gate)
            node = _waiters.AddLast(waiter);
        bool woken;
        try
        {
            using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutCts.CancelAfter(timeout);
            using (timeoutCts.Token.Register(static s => ((TaskCompletionSource<bool>)s!).TrySetResult(false), waiter))
                woken = await waiter.Task.ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                if (node.List is not null)
                    _waiters.Remove(node);
            }
        }
        if (cancellationToken.IsCancellationRequested)
        {
            if (woken)
                Wake(1);
            cancellationToken.ThrowIfCancellationRequested();
        }
        return woken;
    }

    /// <summary>Wakes the <paramref name="count"/> longest-waiting publishers (fewer when fewer wait).</summary>
    public void Wake(int count)
    {
        lock (_gate)
        {
            // A waiter that already timed out or was cancelled (and has not yet left the list) does not use up a wake.
            // Completing here is cheap: continuations run asynchronously, never under this lock.
            while (count > 0 && _waiters.First is { } first)
            {
                _waiters.RemoveFirst();
                if (first.Value.TrySetResult(true))
                    count--;
            }
        }
    }

    /// <summary>Wakes every parked publisher (an 'f' without a count, and the queue's disposal).</summary>
    public void WakeAll() => Wake(int.MaxValue);
}
