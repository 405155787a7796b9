using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace AppRuntime.Internal;

/// <summary>
/// The local side of one Redis queue instance's consumers: parked waiters, a small buffer of leased tasks not yet
/// handed out, and the "is it worth asking Redis" state.
/// <list type="bullet">
/// <item>A waiter is a pooled <see cref="IValueTaskSource{TResult}"/>: parking allocates no TaskCompletionSource, no
/// linked CancellationTokenSource and no timer. One real-time timer per gate serves every waiter's timeout and the
/// buffer's hold limit; it is re-armed only when the earliest deadline moves. When waits run out, only the longest parked
/// of those waiters is woken to look in Redis (its fetch serves the others), so idle consumers poll once per timeout together.</item>
/// <item><see cref="Signal"/> (a pub/sub 'r', or a fetch that saw more ready tasks) wakes one waiter, or leaves one
/// permit when nobody waits, so a notification that arrives between a fetch and a park is not lost.</item>
/// <item>After a reply that left the ready list empty (<see cref="SetKnownEmpty"/>), the next consumer parks without a
/// round trip: every later publish sends 'r', which wakes it (or leaves the permit).</item>
/// </list>
/// </summary>
internal sealed class ConsumerGate<TItem> : IDisposable
    where TItem : class
{
    private readonly Lock _lock = new();
    private readonly List<Waiter> _waiters = [];
    private readonly Stack<Waiter> _pool = new();
    private readonly Queue<(TItem Item, long At)> _buffer = new();
    private readonly long _holdTicks;
    private readonly Action<List<TItem>> _expired;
    private readonly ITimer _timer;
    private long _armedAt = long.MaxValue;
    /// <summary>"No consumer took a task lately": far enough in the past that subtracting it from a timestamp cannot overflow.</summary>
    private const long NeverTaken = long.MinValue / 2;
    /// <summary>When a consumer last asked for a task (<see cref="TryTake"/>), in <see cref="Stopwatch"/> ticks.</summary>
    private long _lastTake = NeverTaken;
    private int _claimed;
    private int _prefetching;
    private bool _permit;
    private bool _refilling;
    private bool _knownEmpty;
    private bool _handOffRefused;
    private bool _closed;
    private bool _disposed;

    /// <param name="hold">How long a buffered task may wait locally before it, and every task buffered after it, is handed to <paramref name="expired"/>.</param>
    /// <param name="expired">Receives buffered tasks that were held too long (called on the timer thread, outside the lock).</param>
    public ConsumerGate(TimeSpan hold, Action<List<TItem>> expired)
    {
        _holdTicks = (long)(hold.TotalSeconds * Stopwatch.Frequency);
        _expired = expired;
        // Real time on purpose: waits bound how long a lost notification delays a consumer, whatever clock leases use.
        _timer = TimeProvider.System.CreateTimer(static s => ((ConsumerGate<TItem>)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Consumers parked right now (for tests).</summary>
    public int Parked
    {
        get
        {
            lock (_lock)
                return _waiters.Count;
        }
    }

    /// <summary>
    /// Whether a read-ahead may be due (the buffer at half of <paramref name="prefetch"/> or less, none under way), read without the
    /// lock: a hint that spares most takes the lock of <see cref="ReserveRefill"/>, which decides.
    /// </summary>
    public bool MayRefill(int prefetch) => !Volatile.Read(ref _refilling) && _buffer.Count <= prefetch / 2;   // a racy int read: only a hint

    /// <summary>Leased tasks held in the buffer, not handed to a consumer yet.</summary>
    public int Buffered
    {
        get
        {
            lock (_lock)
                return _buffer.Count;
        }
    }

    /// <summary>Takes a buffered task, if there is one; never fetches nor parks (a stopping instance serves only what it holds).</summary>
    public bool TryTakeBuffered([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TItem? item)
    {
        lock (_lock)
        {
            if (_buffer.TryDequeue(out var buffered))
            {
                item = buffered.Item;
                return true;
            }
        }
        item = null;
        return false;
    }

    /// <summary>Wakes every parked consumer (each looks again: fetches, or, once its queue stops leasing, serves the buffer).</summary>
    public void WakeAll()
    {
        Waiter[] waiters;
        lock (_lock)
        {
            waiters = [.. _waiters];
            _waiters.Clear();
        }
        foreach (var w in waiters)
            w.Complete(null);
    }

    /// <summary>What <see cref="TryTake"/> decided.</summary>
    public enum Next
    {
        /// <summary>A buffered task was taken.</summary>
        Item,

        /// <summary>Ask Redis.</summary>
        Fetch,

        /// <summary>Parked: await the waiter.</summary>
        Parked,

        /// <summary>The gate is disposed: wait the timeout on your own, then fetch.</summary>
        Sleep,
    }

    /// <summary>
    /// Takes a buffered task; else says to fetch (a permit is pending, the queue is not known to be empty, or
    /// <paramref name="mustFetch"/>); else parks a waiter until <paramref name="timeout"/> (real time).
    /// </summary>
    /// <param name="mustFetch">Fetch even when the queue is known to be empty (the consumer was woken to look).</param>
    /// <param name="timeout">How long a park waits before its consumer looks in Redis.</param>
    /// <param name="item">The buffered task taken.</param>
    /// <param name="waiter">The park to await.</param>
    /// <param name="dueBound"><paramref name="timeout"/> was cut short to look when a delayed task falls due or a lease expires:
    /// another consumer's earlier look does not stand in for this one (see <see cref="Waiter.StoodInFor"/>).</param>
    public Next TryTake(bool mustFetch, TimeSpan timeout, out TItem? item, out Waiter? waiter, bool dueBound = false)
    {
        item = null;
        waiter = null;
        lock (_lock)
        {
            _lastTake = Stopwatch.GetTimestamp();
            if (_buffer.TryDequeue(out var buffered))
            {
                item = buffered.Item;
                return Next.Item;
            }
            // A wake-up during a read-ahead (a notification, or a parked consumer's timeout) is kept as the permit: the consumer
            // parks for the read-ahead, and its end wakes the parked consumers to fetch when the permit says something came.
            if (_refilling && (_permit || mustFetch))
                _permit = true;
            if (!_refilling && (_permit || mustFetch || !_knownEmpty))
            {
                _permit = false;
                return Next.Fetch;
            }
            if (_disposed)
                return Next.Sleep;
            waiter = _pool.TryPop(out var pooled) ? pooled : new Waiter(this);
            waiter.Arm(Stopwatch.GetTimestamp(), (long)(timeout.TotalSeconds * Stopwatch.Frequency), dueBound);
            _waiters.Add(waiter);
            ArmTimerLocked(waiter.Deadline);
            return Next.Parked;
        }
    }

    /// <summary>
    /// Reserves what a fetch asks for beyond its own task: up to <paramref name="maxWaiters"/> parked waiters that no other
    /// fetch serves yet, and the room left in the buffer (<paramref name="prefetch"/> minus buffered and already asked for).
    /// </summary>
    public (int Claimed, int Prefetched) Reserve(int maxWaiters, int prefetch)
    {
        lock (_lock)
        {
            var claimed = Math.Clamp(_waiters.Count - _claimed, 0, maxWaiters);
            _claimed += claimed;
            var prefetched = _closed ? 0 : Math.Clamp(prefetch - _buffer.Count - _prefetching, 0, Math.Max(0, maxWaiters - claimed));
            _prefetching += prefetched;
            return (claimed, prefetched);
        }
    }

    /// <summary>
    /// Read-ahead: when the buffer has fallen to half of <paramref name="prefetch"/> or less, no fetch is filling it and the
    /// queue is not known to be empty, reserves the room left (the caller fetches that many in the background, so the
    /// consumers taking from the buffer do not all stop for a round trip when it runs dry). 0: nothing to do. While the
    /// read-ahead is under way a consumer that finds the buffer empty parks instead of fetching on its own, so it gets the
    /// read-ahead's tasks, the older ones, first; the read-ahead ends with <see cref="Deliver"/> (<c>refill</c> true) or
    /// <see cref="EndRefill"/>.
    /// </summary>
    public int ReserveRefill(int prefetch, int maxFetch)
    {
        lock (_lock)
        {
            if (_closed || _knownEmpty || _prefetching > 0 || _buffer.Count > prefetch / 2)
                return 0;
            var room = Math.Min(prefetch - _buffer.Count, maxFetch);
            _prefetching += room;
            _refilling = true;
            return room;
        }
    }

    /// <summary>
    /// Reserves what a batch publish of this instance may lease to it straight away (see <see cref="Reserve"/>): at most
    /// <paramref name="max"/> of the parked waiters no fetch serves yet and, while its consumers are at work, the buffer's room; only
    /// until a refused hand-off (<c>Unreserve(reserved, handOffRefused: true)</c>) is followed by a reply that left the ready list empty. Nothing while a fetch or read-ahead
    /// that reserved is under way: it carries older tasks, which must reach the waiters and the buffer first.
    /// </summary>
    public (int Claimed, int Prefetched) ReserveHandOff(int max, int prefetch)
    {
        lock (_lock)
        {
            // Not after a hand-off the script refused (tasks were waiting in Redis) until a reply leaves the ready list empty: under
            // a backlog every reservation would be refused, and would only hold back the read-ahead and shrink the consumers' own
            // fetches while the publish is under way.
            if (_closed || _claimed > 0 || _prefetching > 0 || _handOffRefused)   // a read-ahead under way has _prefetching > 0
                return default;
            var claimed = Math.Clamp(_waiters.Count, 0, max);
            // The buffer only for an instance whose consumers are at work: one is parked, or one took a task within the hold
            // limit. An instance without consumers (no worker pool, a paused pool) gets nothing to hold for nobody.
            var consuming = claimed > 0 || Stopwatch.GetTimestamp() - _lastTake < _holdTicks;
            var prefetched = consuming ? Math.Clamp(prefetch - _buffer.Count, 0, max - claimed) : 0;
            _claimed += claimed;
            _prefetching += prefetched;
            return (claimed, prefetched);
        }
    }

    /// <summary>Reserves one parked waiter that no fetch serves yet (a publish from this instance may lease the task to it).</summary>
    public bool TryClaimOne()
    {
        lock (_lock)
        {
            if (_closed || _waiters.Count - _claimed <= 0)
                return false;
            _claimed++;
            return true;
        }
    }

    /// <summary>
    /// Hands fetched tasks to parked waiters (oldest first), buffers the rest and ends the fetch's reservation.
    /// Returns the tasks that could not be kept (the gate is closed): the caller gives them back.
    /// </summary>
    public List<TItem>? Deliver(List<TItem> items, int start, (int Claimed, int Prefetched) reserved, bool refill = false)
    {
        List<(Waiter, TItem)>? handoffs = null;
        List<TItem>? rejected = null;
        Waiter[]? unserved = null;
        lock (_lock)
        {
            ReleaseLocked(reserved);
            for (var i = start; i < items.Count; i++)
            {
                if (_waiters.Count > 0)
                {
                    var w = _waiters[0];
                    _waiters.RemoveAt(0);
                    (handoffs ??= []).Add((w, items[i]));
                }
                else if (_closed)
                {
                    (rejected ??= []).Add(items[i]);
                }
                else
                {
                    var now = Stopwatch.GetTimestamp();
                    _buffer.Enqueue((items[i], now));
                    ArmTimerLocked(now + _holdTicks);
                }
            }
            if (refill)
                unserved = EndRefillLocked();
        }
        if (handoffs is not null)
        {
            foreach (var (w, item) in handoffs)
                w.Complete(item);
        }
        WakeToFetch(unserved);
        return rejected;
    }

    /// <summary>Ends a read-ahead that delivered nothing (it failed, or found nothing ready).</summary>
    public void EndRefill((int Claimed, int Prefetched) reserved)
    {
        Waiter[]? unserved;
        lock (_lock)
        {
            ReleaseLocked(reserved);
            unserved = EndRefillLocked();
        }
        WakeToFetch(unserved);
    }

    /// <summary>
    /// The read-ahead is over: consumers that parked for it and got none of its tasks look again (they fetch), unless the queue is
    /// now known to be empty and no wake-up came meanwhile (then a publish wakes them, as any parked consumer). A wake-up that
    /// came meanwhile (the permit) is used up by waking them; with nobody parked it stays for the next consumer.
    /// </summary>
    private Waiter[]? EndRefillLocked()
    {
        _refilling = false;
        if (_waiters.Count == 0 || (_knownEmpty && !_permit))
            return null;
        _permit = false;
        Waiter[] waiters = [.. _waiters];
        _waiters.Clear();
        return waiters;
    }

    private static void WakeToFetch(Waiter[]? waiters)
    {
        if (waiters is null)
            return;
        foreach (var w in waiters)
            w.Complete(null);
    }

    /// <summary>Ends the reservation of a fetch that returned nothing.</summary>
    public void Unreserve((int Claimed, int Prefetched) reserved) => Unreserve(reserved, handOffRefused: false);

    /// <summary>
    /// Ends the reservation of a publish's hand-off; <paramref name="handOffRefused"/>: the script refused it (tasks wait in Redis),
    /// and none is reserved again until a reply leaves the ready list empty (under the same lock, so no publish reserves between).
    /// </summary>
    public void Unreserve((int Claimed, int Prefetched) reserved, bool handOffRefused)
    {
        if (reserved == default && !handOffRefused)
            return;
        lock (_lock)
        {
            ReleaseLocked(reserved);
            if (handOffRefused)
                _handOffRefused = true;
        }
    }

    private void ReleaseLocked((int Claimed, int Prefetched) reserved)
    {
        _claimed = Math.Max(0, _claimed - reserved.Claimed);
        _prefetching = Math.Max(0, _prefetching - reserved.Prefetched);
    }

    /// <summary>Records whether the last reply left the ready list empty (an empty one allows hand-offs again).</summary>
    public void SetKnownEmpty(bool empty)
    {
        lock (_lock)
        {
            _knownEmpty = empty;
            if (empty)
                _handOffRefused = false;
        }
    }

    /// <summary>
    /// A consumer that the timer woke to look in Redis (<see cref="OnTimer"/>, which then let the other waiters wait again) leaves
    /// without looking (cancelled): wakes the oldest waiter to look in its place. No permit when nobody is parked.
    /// </summary>
    public void PassOnLook() => WakeOldest(leavePermit: false);

    /// <summary>A task may be ready: wakes the oldest waiter (it fetches), or leaves a permit for the next consumer.</summary>
    public void Signal() => WakeOldest(leavePermit: true);

    private void WakeOldest(bool leavePermit)
    {
        Waiter? w = null;
        lock (_lock)
        {
            if (_waiters.Count > 0)
            {
                w = _waiters[0];
                _waiters.RemoveAt(0);
            }
            else if (leavePermit)
            {
                _permit = true;
            }
        }
        w?.Complete(null);
    }

    /// <summary>
    /// Stops buffering, wakes every waiter and returns the buffered tasks (the caller gives them back). Consumers may still
    /// park afterwards; fetched tasks beyond their own are then returned by <see cref="Deliver"/> instead of buffered.
    /// </summary>
    public List<TItem> Close()
    {
        Waiter[] waiters;
        var items = new List<TItem>();
        lock (_lock)
        {
            _closed = true;
            waiters = [.. _waiters];
            _waiters.Clear();
            while (_buffer.TryDequeue(out var b))
                items.Add(b.Item);
        }
        foreach (var w in waiters)
            w.Complete(null);
        return items;
    }

    /// <summary>Stops the timer; consumers that still call in afterwards wait on their own (see <see cref="Next.Sleep"/>).</summary>
    public void Dispose()
    {
        Waiter[] waiters;
        lock (_lock)
        {
            _disposed = true;
            waiters = [.. _waiters];
            _waiters.Clear();
        }
        _timer.Dispose();
        foreach (var w in waiters)
            w.Complete(null);
    }

    private void ArmTimerLocked(long due)
    {
        if (due >= _armedAt || _disposed)
            return;
        _armedAt = due;
        var delay = Math.Max(0, due - Stopwatch.GetTimestamp());
        _timer.Change(TimeSpan.FromSeconds((double)delay / Stopwatch.Frequency) + TimeSpan.FromTicks(1), Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        Waiter? looker = null;
        List<TItem>? stale = null;
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            _armedAt = long.MaxValue;
            var next = long.MaxValue;
            // One look per timeout for the whole instance, not one per consumer: the longest parked of the waiters whose wait is
            // over fetches (and that fetch reserves the other parked waiters, so it brings a task for each of them); the others
            // wait again, each for its own wait. Idle consumers of an instance then poll Redis once per poll interval together
            // (4 idle workers used to run 4 consume scripts per interval, standby instances of a cluster included).
            for (var i = 0; i < _waiters.Count; i++)
            {
                var w = _waiters[i];
                if (w.Deadline <= now)
                {
                    _waiters.RemoveAt(i);
                    looker = w;
                    break;
                }
            }
            foreach (var w in _waiters)
            {
                // The look stands in for every waiter that would look within half its wait (the consumer that looked last
                // time parked again a round trip after the others: it would look again a round trip after them).
                if (looker is not null)
                    w.StoodInFor(now);
                next = Math.Min(next, w.Deadline);
            }
            // When the oldest buffered task was held too long, the whole buffer goes back in one list: nobody here took any of them
            // meanwhile, and one list comes back to the ready list in its order (lists given back one after the other would
            // come back newest first).
            if (_buffer.TryPeek(out var b) && b.At + _holdTicks <= now)
            {
                stale = new List<TItem>(_buffer.Count);
                while (_buffer.TryDequeue(out var item))
                    stale.Add(item.Item);
            }
            if (_buffer.TryPeek(out var oldest))
                next = Math.Min(next, oldest.At + _holdTicks);
            if (next != long.MaxValue)
                ArmTimerLocked(next);
        }
        looker?.Complete(null);
        if (stale is not null)
            _expired(stale);
    }

    private void Cancel(Waiter w)
    {
        lock (_lock)
        {
            if (!_waiters.Remove(w))
                return;
            // A consumer that stops waiting has left (a paused or stopping pool): no buffer hand-off until one takes again.
            _lastTake = NeverTaken;
        }
        w.Fail();
    }

    private void Return(Waiter w)
    {
        lock (_lock)
        {
            if (_pool.Count < 64)
                _pool.Push(w);
        }
    }

    /// <summary>A reusable parked consumer. Completed exactly once per park: with a task, with null (fetch now) or cancelled.</summary>
    public sealed class Waiter : IValueTaskSource<TItem?>
    {
        private readonly ConsumerGate<TItem> _gate;
        private ManualResetValueTaskSourceCore<TItem?> _core = new() { RunContinuationsAsynchronously = true };
        private CancellationToken _token;
        private int _completed;

        internal Waiter(ConsumerGate<TItem> gate) => _gate = gate;

        internal long Deadline { get; private set; }

        /// <summary>How long (Stopwatch ticks) this park waits before its consumer looks in Redis on its own.</summary>
        private long _wait;

        /// <summary>The wait ends when a delayed task falls due or a lease expires (not a plain poll).</summary>
        private bool _dueBound;

        internal void Arm(long now, long wait, bool dueBound)
        {
            _core.Reset();
            _completed = 0;
            _wait = wait;
            _dueBound = dueBound;
            Deadline = now + wait;
        }

        /// <summary>
        /// Another waiter looks now: if this one would look within half its wait, that look stands in for its own, and it waits
        /// again (under the gate's lock). A wait aimed at a due time is stood in for only once that time has come: an earlier look
        /// cannot take a task that is not due yet.
        /// </summary>
        internal void StoodInFor(long now)
        {
            if (Deadline <= now || (!_dueBound && Deadline <= now + _wait / 2))
                Deadline = now + _wait;
        }

        /// <summary>Waits for the hand-off; null means woken or timed out (fetch now).</summary>
        public async ValueTask<TItem?> WaitAsync(CancellationToken cancellationToken)
        {
            _token = cancellationToken;
            var registration = cancellationToken.CanBeCanceled
                ? cancellationToken.UnsafeRegister(static s => { var w = (Waiter)s!; w._gate.Cancel(w); }, this)
                : default;
            try
            {
                return await new ValueTask<TItem?>(this, _core.Version).ConfigureAwait(false);
            }
            finally
            {
                // After this the cancellation callback can no longer run, so the waiter may serve another park.
                await registration.DisposeAsync().ConfigureAwait(false);
                _gate.Return(this);
            }
        }

        /// <summary>
        /// Completes the park; the consumer resumes on the thread pool (measured: running it inline on the publisher's
        /// or fetcher's thread slows the publisher more than the saved hop gains).
        /// </summary>
        internal void Complete(TItem? item)
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0)
                _core.SetResult(item);
        }

        internal void Fail()
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0)
                _core.SetException(new OperationCanceledException(_token));
        }

        TItem? IValueTaskSource<TItem?>.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<TItem?>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<TItem?>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
