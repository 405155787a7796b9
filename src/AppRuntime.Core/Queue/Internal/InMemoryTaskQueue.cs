using System.Globalization;
using System.Threading.Channels;

namespace AppRuntime.Internal;

/// <summary>
/// The in-memory <see cref="ITaskQueue{T}"/>: bounded by <see cref="QueueDefinition.Capacity"/> outstanding tasks, at-least-once
/// delivery with leases that expire after <see cref="QueueDefinition.VisibilityTimeout"/>, delayed delivery, dead letters.
/// </summary>
/// <remarks>
/// <para>Structure. Ready tasks live in an unbounded <see cref="Channel{T}"/> (the capacity is enforced by
/// <see cref="QueueCapacityGate"/>, which counts ready + delayed + in-flight tasks). In-flight entries form an intrusive
/// doubly linked list sorted by lease expiry (a new lease almost always goes to the tail, so linking is O(1)); delayed
/// entries sit in a min-heap by due time. Both are guarded by one short lock. Dead letters are an ordered list.</para>
/// <para>Time. All time comes from the injected <see cref="TimeProvider"/>. One timer is armed for the earliest pending due
/// time (lease expiry or delayed task). Adding work only re-arms the timer when it must fire earlier; the timer callback
/// recomputes the exact next due time. No time-provider call is made while the queue lock is held, because a fake time
/// provider may run the timer callback synchronously inside such a call.</para>
/// <para>Disposal. Consumers and publishers waiting when the queue is disposed, and every later publish or consume, fail with
/// <see cref="ObjectDisposedException"/>; settling a lease after disposal returns false / <see cref="NackResult.LeaseLost"/>.
/// Tasks still held are dropped (the queue is not durable).</para>
/// </remarks>
internal sealed class InMemoryTaskQueue<T> : ITaskQueue<T>, IRuntimeEnvelopeQueue<T>, IAsyncDisposable
{
    private const long MaxTimerMilliseconds = uint.MaxValue - 1;

    private readonly TimeProvider _time;
    private readonly Channel<InMemoryQueueEntry<T>> _ready;
    private readonly QueueCapacityGate _capacity;
    private readonly PriorityQueue<InMemoryQueueEntry<T>, (long Due, long Sequence)> _delayed = new();
    private readonly List<InMemoryDeadLetter<T>> _deadLetters = [];
    private readonly Lock _lock = new();
    private readonly Lock _timerLock = new();
    private readonly ITimer _timer;
    private readonly TimeSpan _visibilityTimeout;
    private readonly int _maxAttempts;
    private readonly DeduplicationMemory _once = new(DeduplicationMemory.DefaultCapacity);

    // Guarded by _lock.
    private InMemoryQueueEntry<T>? _inFlightHead;
    private InMemoryQueueEntry<T>? _inFlightTail;
    private int _inFlightCount;
    private long _delayedSequence;
    private long _acked;
    private long _nacked;
    private long _wantedDueTicks = long.MaxValue; // written under _lock, read by ArmTimer

    // Guarded by _timerLock: the due time the timer is armed for (MaxValue: not armed, MinValue: unknown).
    private long _armedDueTicks = long.MaxValue;

    private long _published;
    private int _waitingConsumers;
    private int _disposed;

    public InMemoryTaskQueue(QueueDefinition definition, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(timeProvider);
        definition.Validate();
        Definition = definition;
        Name = definition.Name;
        TaskType = definition.TaskType;
        _time = timeProvider;
        _visibilityTimeout = definition.VisibilityTimeout;
        _maxAttempts = definition.MaxAttempts;
        _capacity = new QueueCapacityGate(definition.Capacity, this);
        _ready = Channel.CreateUnbounded<InMemoryQueueEntry<T>>(new UnboundedChannelOptions
        {
            SingleReader = false,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });

        // The timer must not capture the creator's execution context (AsyncLocals such as the current Activity).
        var restoreFlow = false;
        if (!ExecutionContext.IsFlowSuppressed())
        {
            ExecutionContext.SuppressFlow();
            restoreFlow = true;
        }
        try
        {
            _timer = timeProvider.CreateTimer(static state => ((InMemoryTaskQueue<T>)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        finally
        {
            if (restoreFlow)
                ExecutionContext.RestoreFlow();
        }
    }

    public string Name { get; }

    public string TaskType { get; }

    public string Backend => InMemoryQueueBackend.BackendName;

    public QueueDefinition Definition { get; }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default)
        => Publish(envelope, owned: false, cancellationToken);

    /// <inheritdoc />
    public ValueTask PublishRuntimeEnvelopeAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken)
        => Publish(envelope, owned: true, cancellationToken);

    private ValueTask Publish(TaskEnvelope<T> envelope, bool owned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        if (!_capacity.TryAcquire())
            return PublishWhenRoomAsync(envelope, owned, cancellationToken);
        Enqueue(envelope, owned);
        return default;
    }

    public async ValueTask<bool> PublishOnceAsync(TaskEnvelope<T> envelope, TimeSpan window, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var now = _time.GetUtcNow();
        if (!_once.TryClaim(envelope.Id, now, now + window))
            return false;
        try
        {
            await PublishAsync(envelope, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch
        {
            _once.Release(envelope.Id); // not published: a later publish of the id is not a duplicate
            throw;
        }
    }

    public ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<TaskLease<T>>(cancellationToken);
        return _ready.Reader.TryRead(out var entry) ? new(Lease(entry)) : ConsumeWhenReadyAsync(cancellationToken);
    }

    public ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_lock)
        {
            if (HeldEntry(lease) is not { } entry)
                return new(false);
            RemoveInFlight(entry);
            entry.Lease = null;
            _acked++;
        }
        _capacity.Release();
        return new(true);
    }

    public ValueTask<NackResult> NackAsync(TaskLease<T> lease, TimeSpan? retryDelay = null, string? error = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (retryDelay is { } d)
            ArgumentOutOfRangeException.ThrowIfLessThan(d, TimeSpan.Zero, nameof(retryDelay));

        var now = _time.GetUtcNow();
        InMemoryQueueEntry<T>? readyNow = null;
        var arm = false;
        NackResult result;
        lock (_lock)
        {
            if (HeldEntry(lease) is not { } entry)
                return new(NackResult.LeaseLost);
            RemoveInFlight(entry);
            entry.Lease = null;
            _nacked++;
            if (error is not null)
                entry.Envelope = entry.Envelope with { LastError = error };

            if (entry.Attempts >= _maxAttempts)
            {
                AddDeadLetter(entry, error ?? $"failed after {entry.Attempts} attempts", now);
                result = NackResult.DeadLettered;
            }
            else if (retryDelay > TimeSpan.Zero)
            {
                var notBefore = AddClamped(now, retryDelay.Value);
                entry.Envelope = entry.Envelope with { NotBefore = notBefore };
                arm = AddDelayed(entry, notBefore.UtcTicks);
                result = NackResult.Requeued;
            }
            else
            {
                readyNow = entry;
                result = NackResult.Requeued;
            }
        }

        if (result == NackResult.DeadLettered)
            _capacity.Release();
        if (readyNow is not null)
            _ready.Writer.TryWrite(readyNow);
        if (arm)
            ArmTimer(fired: false);
        return new(result);
    }

    public ValueTask<bool> DeadLetterAsync(TaskLease<T> lease, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(reason);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (HeldEntry(lease) is not { } entry)
                return new(false);
            RemoveInFlight(entry);
            entry.Lease = null;
            AddDeadLetter(entry, reason, now);
        }
        _capacity.Release();
        return new(true);
    }

    public ValueTask<bool> ReleaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        InMemoryQueueEntry<T> entry;
        lock (_lock)
        {
            if (HeldEntry(lease) is not { } held)
                return new(false);
            entry = held;
            RemoveInFlight(entry);
            entry.Lease = null;
            entry.Attempts--; // a released delivery is not an attempt
        }
        _ready.Writer.TryWrite(entry);
        return new(true);
    }

    public ValueTask<bool> RenewLeaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var until = AddClamped(_time.GetUtcNow(), _visibilityTimeout);
        bool arm;
        lock (_lock)
        {
            if (HeldEntry(lease) is not { } entry)
                return new(false);
            RemoveInFlight(entry);
            entry.DueTicks = until.UtcTicks;
            AddInFlight(entry);
            lease.LeasedUntil = until;
            arm = LowerWantedDue(entry.DueTicks);
        }
        if (arm)
            ArmTimer(fired: false);
        return new(true);
    }

    public ValueTask<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return new(new QueueStats
            {
                Depth = _ready.Reader.Count,
                InFlight = _inFlightCount,
                Delayed = _delayed.Count,
                DeadLettered = _deadLetters.Count,
                Published = Interlocked.Read(ref _published),
                Acked = _acked,
                Nacked = _nacked,
                Capacity = Definition.Capacity,
                Consumers = Volatile.Read(ref _waitingConsumers),
            });
        }
    }

    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        InMemoryDeadLetter<T>[] snapshot;
        lock (_lock)
        {
            snapshot = new InMemoryDeadLetter<T>[Math.Min(max, _deadLetters.Count)];
            _deadLetters.CopyTo(0, snapshot, 0, snapshot.Length);
        }

        // Rendering payloads runs user code (ToString), so it happens outside the lock; each payload is rendered once and its
        // bounded preview kept, so listing again costs no rendering and holds no whole payload text.
        var result = new DeadLetter[snapshot.Length];
        for (var i = 0; i < snapshot.Length; i++)
        {
            var dead = snapshot[i];
            var envelope = dead.Envelope;
            var preview = dead.Preview ??= Preview(RenderPayload(envelope.Payload));
            result[i] = new DeadLetter(envelope.Id, Name, envelope.TaskType, dead.Attempts, dead.Reason, envelope.EnqueuedAt,
                dead.DeadLetteredAt, preview.Text) { PayloadSize = preview.Size, PayloadTruncated = preview.Truncated };
        }
        return new(result);
    }

    public ValueTask<DeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        InMemoryDeadLetter<T>? found = null;
        lock (_lock)
        {
            foreach (var dead in _deadLetters)
            {
                if (string.Equals(dead.Envelope.Id, id, StringComparison.Ordinal))
                {
                    found = dead;
                    break;
                }
            }
        }
        if (found is null)
            return new((DeadLetter?)null);
        var envelope = found.Envelope;
        var text = RenderPayload(envelope.Payload);
        return new(new DeadLetter(envelope.Id, Name, envelope.TaskType, found.Attempts, found.Reason, envelope.EnqueuedAt, found.DeadLetteredAt, text)
        {
            PayloadSize = text?.Length,
        });
    }

    /// <inheritdoc />
    /// <remarks>Moved tasks take a capacity slot without waiting, so the queue may briefly hold more than its capacity.</remarks>
    public ValueTask<int> RetryDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default)
    {
        var moved = TakeDeadLetters(ids);
        foreach (var entry in moved)
        {
            entry.Attempts = 0;
            entry.Envelope = entry.Envelope with { Attempt = 0 };
            _capacity.ForceAcquire();
            _ready.Writer.TryWrite(entry);
        }
        return new(moved.Count);
    }

    public ValueTask<int> PurgeDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default)
        => new(TakeDeadLetters(ids).Count);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return default;
        _ready.Writer.TryComplete();
        _capacity.Dispose();
        lock (_timerLock)
            _timer.Dispose();
        lock (_lock)
        {
            for (var entry = _inFlightHead; entry is not null; entry = entry.Next)
                entry.Lease = null;
            _inFlightHead = _inFlightTail = null;
            _inFlightCount = 0;
            _delayed.Clear();
        }
        return default;
    }

    public override string ToString() => $"InMemory queue '{Name}'";

    private async ValueTask PublishWhenRoomAsync(TaskEnvelope<T> envelope, bool owned, CancellationToken cancellationToken)
    {
        await _capacity.AcquireAsync(cancellationToken).ConfigureAwait(false);
        Enqueue(envelope, owned);
    }

    /// <summary>
    /// Adds a published envelope; the caller holds a capacity slot for it. <paramref name="owned"/>: the runtime created the
    /// envelope for this publish and keeps no reference, so its first delivery may count the attempt on it instead of a copy.
    /// </summary>
    private void Enqueue(TaskEnvelope<T> envelope, bool owned = false)
    {
        var entry = new InMemoryQueueEntry<T>(this, envelope) { OwnsEnvelope = owned && envelope.Attempt == 0 };
        Interlocked.Increment(ref _published);
        if (envelope.NotBefore is { } notBefore && notBefore > _time.GetUtcNow())
        {
            bool arm;
            lock (_lock)
                arm = AddDelayed(entry, notBefore.UtcTicks);
            if (arm)
                ArmTimer(fired: false);
            return;
        }

        if (!_ready.Writer.TryWrite(entry))
        {
            Interlocked.Decrement(ref _published);
            _capacity.Release();
            throw new ObjectDisposedException(ToString());
        }
    }

    private async ValueTask<TaskLease<T>> ConsumeWhenReadyAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waitingConsumers);
        try
        {
            while (await _ready.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                ObjectDisposedException.ThrowIf(IsDisposed, this);
                if (_ready.Reader.TryRead(out var entry))
                    return Lease(entry);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingConsumers);
        }
        throw new ObjectDisposedException(ToString());
    }

    /// <summary>Leases an entry the caller has just taken from the ready channel (and so owns).</summary>
    private TaskLease<T> Lease(InMemoryQueueEntry<T> entry)
    {
        var attempt = entry.Attempts + 1;
        entry.Attempts = attempt;
        var envelope = entry.Envelope;
        if (entry.OwnsEnvelope)
        {
            // The first delivery of an envelope only this entry holds: counted on it (a redelivery copies, since the
            // earlier delivery's handler may still hold its envelope).
            entry.OwnsEnvelope = false;
            envelope.MarkFirstDelivery();
        }
        else if (envelope.Attempt != attempt)
        {
            entry.Envelope = envelope = envelope with { Attempt = attempt };
        }

        var until = AddClamped(_time.GetUtcNow(), _visibilityTimeout);
        var lease = new TaskLease<T>(Name, envelope, until, entry);
        bool arm;
        lock (_lock)
        {
            entry.Lease = lease;
            entry.DueTicks = until.UtcTicks;
            AddInFlight(entry);
            arm = LowerWantedDue(entry.DueTicks);
        }
        if (arm)
            ArmTimer(fired: false);
        return lease;
    }

    /// <summary>The entry <paramref name="lease"/> still holds, or null when the lease was lost. Call under <see cref="_lock"/>.</summary>
    private InMemoryQueueEntry<T>? HeldEntry(TaskLease<T> lease)
        => lease.BackendState is InMemoryQueueEntry<T> entry && ReferenceEquals(entry.Owner, this) && ReferenceEquals(entry.Lease, lease)
            ? entry
            : null;

    /// <summary>Links an entry into the in-flight list, keeping it sorted by expiry. Call under <see cref="_lock"/>.</summary>
    private void AddInFlight(InMemoryQueueEntry<T> entry)
    {
        var after = _inFlightTail;
        while (after is not null && after.DueTicks > entry.DueTicks)
            after = after.Previous;

        entry.Previous = after;
        entry.Next = after is null ? _inFlightHead : after.Next;
        if (after is null)
            _inFlightHead = entry;
        else
            after.Next = entry;
        if (entry.Next is null)
            _inFlightTail = entry;
        else
            entry.Next.Previous = entry;
        _inFlightCount++;
    }

    /// <summary>Unlinks an entry from the in-flight list. Call under <see cref="_lock"/>.</summary>
    private void RemoveInFlight(InMemoryQueueEntry<T> entry)
    {
        if (entry.Previous is null)
            _inFlightHead = entry.Next;
        else
            entry.Previous.Next = entry.Next;
        if (entry.Next is null)
            _inFlightTail = entry.Previous;
        else
            entry.Next.Previous = entry.Previous;
        entry.Previous = entry.Next = null;
        _inFlightCount--;
    }

    /// <summary>Puts an entry in the delayed heap; returns true when the timer must be re-armed. Call under <see cref="_lock"/>.</summary>
    private bool AddDelayed(InMemoryQueueEntry<T> entry, long dueTicks)
    {
        entry.DueTicks = dueTicks;
        _delayed.Enqueue(entry, (dueTicks, _delayedSequence++));
        return LowerWantedDue(dueTicks);
    }

    /// <summary>Call under <see cref="_lock"/>.</summary>
    private void AddDeadLetter(InMemoryQueueEntry<T> entry, string reason, DateTimeOffset now)
        => _deadLetters.Add(new InMemoryDeadLetter<T>(entry, entry.Envelope, entry.Attempts, reason, now));

    /// <summary>Moves the timer's target earlier when <paramref name="dueTicks"/> is before it. Call under <see cref="_lock"/>.</summary>
    private bool LowerWantedDue(long dueTicks)
    {
        if (dueTicks >= _wantedDueTicks)
            return false;
        Volatile.Write(ref _wantedDueTicks, dueTicks);
        return true;
    }

    private List<InMemoryQueueEntry<T>> TakeDeadLetters(IReadOnlyCollection<string>? ids)
    {
        var taken = new List<InMemoryQueueEntry<T>>();
        var wanted = ids is null ? null : new HashSet<string>(ids, StringComparer.Ordinal);
        lock (_lock)
        {
            if (IsDisposed)
                return taken;
            var kept = 0;
            for (var i = 0; i < _deadLetters.Count; i++)
            {
                var dead = _deadLetters[i];
                if (wanted is null || wanted.Contains(dead.Envelope.Id))
                    taken.Add(dead.Entry);
                else
                    _deadLetters[kept++] = dead;
            }
            _deadLetters.RemoveRange(kept, _deadLetters.Count - kept);
        }
        return taken;
    }

    /// <summary>Timer callback: redelivers or dead-letters expired leases, releases due delayed tasks, re-arms the timer.</summary>
    private void OnTimer()
    {
        if (IsDisposed)
            return;
        var now = _time.GetUtcNow();
        var nowTicks = now.UtcTicks;
        var freed = 0;
        lock (_lock)
        {
            while (_inFlightHead is { } expired && expired.DueTicks <= nowTicks)
            {
                RemoveInFlight(expired);
                expired.Lease = null;
                if (expired.Attempts >= _maxAttempts)
                {
                    AddDeadLetter(expired, $"lease expired after {expired.Attempts} attempts", now);
                    freed++;
                }
                else
                {
                    _ready.Writer.TryWrite(expired);
                }
            }

            while (_delayed.TryPeek(out var due, out var priority) && priority.Due <= nowTicks)
            {
                _delayed.Dequeue();
                _ready.Writer.TryWrite(due);
            }

            var next = _inFlightHead?.DueTicks ?? long.MaxValue;
            if (_delayed.TryPeek(out _, out var first) && first.Due < next)
                next = first.Due;
            Volatile.Write(ref _wantedDueTicks, next);
        }

        for (; freed > 0; freed--)
            _capacity.Release();
        ArmTimer(fired: true);
    }

    /// <summary>
    /// Points the timer at the wanted due time when it is armed for another one. Serialised by <see cref="_timerLock"/>
    /// (re-entrant: a fake time provider may run <see cref="OnTimer"/> from inside <see cref="ITimer.Change"/> or
    /// <see cref="TimeProvider.GetUtcNow"/>), never called under <see cref="_lock"/>.
    /// </summary>
    private void ArmTimer(bool fired)
    {
        lock (_timerLock)
        {
            if (IsDisposed)
                return;
            if (fired)
                _armedDueTicks = long.MinValue; // a one-shot timer that fired is no longer armed
            var nowTicks = _time.GetUtcNow().UtcTicks;
            var wanted = Volatile.Read(ref _wantedDueTicks);
            if (wanted == _armedDueTicks)
                return;
            _armedDueTicks = wanted;
            _timer.Change(DelayUntil(wanted, nowTicks), Timeout.InfiniteTimeSpan);
        }
    }

    private static TimeSpan DelayUntil(long dueTicks, long nowTicks)
    {
        if (dueTicks == long.MaxValue)
            return Timeout.InfiniteTimeSpan;
        var ticks = dueTicks - nowTicks;
        if (ticks <= 0)
            return TimeSpan.Zero;

        // Whole milliseconds, rounded up: system timers truncate to milliseconds and would otherwise fire just before the due time.
        var milliseconds = (ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        return TimeSpan.FromMilliseconds(Math.Min(milliseconds, MaxTimerMilliseconds));
    }

    private static DateTimeOffset AddClamped(DateTimeOffset time, TimeSpan span)
        => DateTimeOffset.MaxValue - time <= span ? DateTimeOffset.MaxValue : time + span;

    private static string? RenderPayload(T payload)
    {
        string? text;
        try
        {
            text = payload?.ToString();
        }
#pragma warning disable CA1031 // A payload whose ToString throws must not break the dead-letter listing.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            text = $"<payload could not be rendered: {ex.GetType().Name}>";
        }
        return text;
    }

    private static InMemoryPayloadPreview Preview(string? text) => text is { Length: > DeadLetter.PreviewLength }
        ? new InMemoryPayloadPreview(text[..DeadLetter.PreviewLength], text.Length, true)
        : new InMemoryPayloadPreview(text, text?.Length, false);
}
