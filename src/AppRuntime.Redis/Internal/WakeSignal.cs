namespace AppRuntime.Internal;

/// <summary>
/// Publishers parked at capacity until a pub/sub 'f' (capacity freed) arrives: <see cref="WakeAll"/> wakes everyone.
/// Waiters also time out, so a lost notification only delays. (Consumers park in <see cref="ConsumerGate{TItem}"/>.)
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
