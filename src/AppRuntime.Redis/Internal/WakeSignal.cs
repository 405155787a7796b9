namespace AppRuntime.Internal;

/// <summary>
/// Waiters parked until a pub/sub notification arrives. <see cref="WakeOne"/> wakes the oldest waiter (one ready task
/// needs one consumer); <see cref="WakeAll"/> wakes everyone. Waiters also time out, so a lost notification only delays.
/// </summary>
internal sealed class WakeSignal
{
    private readonly Lock _gate = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();

    /// <summary>Waits until woken, <paramref name="timeout"/> passes (real time) or <paramref name="cancellationToken"/> fires.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        LinkedListNode<TaskCompletionSource> node;
        lock (_gate)
            node = _waiters.AddLast(waiter);
        try
        {
            using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutCts.CancelAfter(timeout);
            using (timeoutCts.Token.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), waiter))
                await waiter.Task.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        finally
        {
            lock (_gate)
            {
                if (node.List is not null)
                    _waiters.Remove(node);
            }
        }
    }

    public void WakeOne()
    {
        TaskCompletionSource? waiter = null;
        lock (_gate)
        {
            if (_waiters.First is { } first)
            {
                waiter = first.Value;
                _waiters.RemoveFirst();
            }
        }
        waiter?.TrySetResult();
    }

    public void WakeAll()
    {
        TaskCompletionSource[] waiters;
        lock (_gate)
        {
            waiters = [.. _waiters];
            _waiters.Clear();
        }
        foreach (var waiter in waiters)
            waiter.TrySetResult();
    }
}
