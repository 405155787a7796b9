namespace AppRuntime.Internal;

/// <summary>
/// Group commit for one kind of script call (publish, ack, renew) of one queue instance: at most one call of the kind is in
/// flight at a time. A caller that finds none in flight makes its own call at once (<see cref="TryJoin"/> returns false: no
/// batching cost and no added latency on a quiet queue); callers that arrive while a call is in flight are queued, and when
/// that call ends they all go in one batch call (up to <c>maxBatch</c> each), the next batch forming while it runs. So the
/// number of round trips per item falls as the load rises, without a timer and without waiting for a batch to fill.
/// </summary>
/// <remarks>
/// Each item keeps its own result: a batch call returns one result per item, in order. A batch call that throws fails every
/// item in it with the same exception, which is what each caller would have seen from its own call. Items are never
/// cancelled once queued (a sent script cannot be recalled either): callers check their token before joining.
/// </remarks>
internal sealed class CallCoalescer<TItem, TResult>
{
    private readonly Func<List<TItem>, Task<TResult[]>> _batch;
    private readonly int _maxBatch;
    private readonly Lock _lock = new();
    private List<Pending> _pending = [];
    private bool _busy;
    private long _batches;
    private long _batchedItems;

    /// <param name="batch">Runs one batch call; returns one result per item, in order.</param>
    /// <param name="maxBatch">The most items in one batch call.</param>
    public CallCoalescer(Func<List<TItem>, Task<TResult[]>> batch, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _batch = batch;
        _maxBatch = maxBatch;
    }

    /// <summary>Batch calls made so far (for tests and benchmarks).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Items sent in batch calls so far (for tests and benchmarks).</summary>
    public long BatchedItems => Interlocked.Read(ref _batchedItems);

    /// <summary>Nothing is in flight: the next caller makes its own call (for tests).</summary>
    public bool IsIdle
    {
        get
        {
            lock (_lock)
                return !_busy;
        }
    }

    /// <summary>
    /// Queues <paramref name="item"/> for the next batch when a call is in flight (true; <paramref name="result"/> completes with
    /// its result). False: nothing is in flight, the caller makes its own call now and must call <see cref="EndSolo"/> when it ends.
    /// </summary>
    public bool TryJoin(TItem item, out Task<TResult> result)
    {
        lock (_lock)
        {
            if (_busy)
            {
                var pending = new Pending(item);
                _pending.Add(pending);
                result = pending.Completion.Task;
                return true;
            }
            _busy = true;
        }
        result = null!;
        return false;
    }

    /// <summary>Ends a caller's own call: starts a batch for what queued meanwhile, or marks the kind idle.</summary>
    public void EndSolo() => Next();

    private void Next()
    {
        List<Pending> batch;
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                _busy = false;
                return;
            }
            if (_pending.Count <= _maxBatch)
            {
                batch = _pending;
                _pending = [];
            }
            else
            {
                batch = _pending.GetRange(0, _maxBatch);
                _pending.RemoveRange(0, _maxBatch);
            }
        }
        _ = RunAsync(batch);
    }

    private async Task RunAsync(List<Pending> batch)
    {
        try
        {
            var items = new List<TItem>(batch.Count);
            foreach (var p in batch)
                items.Add(p.Item);
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _batchedItems, batch.Count);
            var results = await _batch(items).ConfigureAwait(false);
            if (results.Length != batch.Count)
                throw new InvalidOperationException($"A batch call returned {results.Length} results for {batch.Count} items.");
            for (var i = 0; i < batch.Count; i++)
                batch[i].Completion.TrySetResult(results[i]);
        }
        catch (Exception ex)
        {
            foreach (var p in batch)
                p.Completion.TrySetException(ex);
        }
        finally
        {
            Next();
        }
    }

    private sealed class Pending(TItem item)
    {
        public TItem Item { get; } = item;

        // Asynchronous continuations: one caller's continuation must not run (and hold up the rest) on the thread that
        // completes the batch.
        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
