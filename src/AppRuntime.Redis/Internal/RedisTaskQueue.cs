using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>
/// A durable queue on Redis: a ready LIST, a delayed ZSET (due time), a leases ZSET (lease expiry), a dead-letter ZSET and
/// one HASH per task, changed only by the Lua scripts in <see cref="LuaScripts"/>. See docs/adapters/redis.md.
/// </summary>
internal sealed partial class RedisTaskQueue<T> : ITaskQueue<T>, ISharedTaskQueue, IAsyncDisposable
{
    private const int IdChunk = 500;
    private const int ScriptBatch = 1000;
    /// <summary>The bytes of a payload a dead-letter listing reads: enough for <see cref="DeadLetter.PreviewLength"/> characters of UTF-8.</summary>
    internal const int PreviewBytes = DeadLetter.PreviewLength * 4;
    private static readonly TimeSpan MinConsumerWindow = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxErrorBackoff = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxBufferHold = TimeSpan.FromSeconds(5);

    private readonly IConnectionMultiplexer _connection;
    private readonly TaskSerializer<T> _serializer;
    private readonly RedisQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisQueueKeys _keys;
    /// <summary>The queue's own prefetch (<c>AppRuntime:Queues:&lt;name&gt;:Prefetch</c>), else the backend's.</summary>
    private readonly int _prefetch;
    private readonly string _consumerId;
    private const int MaxBatch = 64;
    private readonly ConsumerGate<TaskLease<T>> _gate;
    private readonly WakeSignal _freed = new();
    private readonly Lock _refillLock = new();
    private Task _refill = Task.CompletedTask;
    private readonly string _tokenPrefix;
    private readonly object _releasingLock = new();
    private Task _releasing = Task.CompletedTask;
    private long _fetches;
    private long _handOffs;
    private long _nextWakeMs = long.MaxValue;
    private readonly Action<RedisChannel, RedisValue> _onEvent;
    private const long ConsumerBeatMs = 1000;
    private long _lastConsumerBeatMs = long.MinValue;
    private static readonly TimeSpan StoppedLeasingPoll = TimeSpan.FromMilliseconds(50);
    private int _subscribed;
    private int _disposed;
    private volatile bool _leasingStopped;
    private readonly RedisOutage _outage;
    /// <summary>The most tasks, acks or renewals one script call carries.</summary>
    internal const int MaxCallBatch = 256;
    private readonly CallCoalescer<PublishItem, long> _publishes;
    private long _publishManyCalls;
    private long _publishManyItems;
    private readonly CallCoalescer<(string Id, string Token), long> _acks;
    private readonly CallCoalescer<(string Id, string Token), long> _renewals;

    public RedisTaskQueue(IConnectionMultiplexer connection, QueueDefinition definition, TaskSerializer<T> serializer,
        RedisQueueOptions options, TimeProvider time, ILogger logger)
    {
        _connection = connection;
        Definition = definition;
        _serializer = serializer;
        _options = options;
        _time = time;
        _logger = logger;
        _keys = new RedisQueueKeys(options.KeyPrefix, definition.Name);
        _prefetch = definition.Prefetch ?? options.Prefetch;
        _consumerId = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}");
        // Lease tokens: a random prefix per queue instance and a counter per fetch (the script appends the task's index),
        // so a consume costs no Guid (a random read) and no formatting beyond one concatenation per task.
        _tokenPrefix = Guid.NewGuid().ToString("N")[..16] + ":";
        var hold = definition.VisibilityTimeout / 3;
        _gate = new ConsumerGate<TaskLease<T>>(hold < MaxBufferHold ? hold : MaxBufferHold, GiveBack);
        _outage = new RedisOutage(definition.Name, Endpoints, time, logger);
        _publishes = new CallCoalescer<PublishItem, long>(PublishBatchAsync, MaxCallBatch);
        _acks = new CallCoalescer<(string Id, string Token), long>(AckBatchAsync, MaxCallBatch);
        _renewals = new CallCoalescer<(string Id, string Token), long>(RenewBatchAsync, MaxCallBatch);
        _onEvent = (_, message) =>
        {
            if (message == "r")
                _gate.Signal();
            else
                WakePublishers(message);
        };
    }

    /// <summary>
    /// 'f' + the room now (see <see cref="LuaScripts.AckMany"/>): wakes that many parked publishers, the longest waiting first.
    /// A bare 'f' (or one that does not parse) wakes them all.
    /// </summary>
    private void WakePublishers(RedisValue message)
    {
        var text = (string?)message;
        if (text is { Length: > 1 } && text[0] == 'f'
            && int.TryParse(text.AsSpan(1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var room))
            _freed.Wake(room);   // no room (an over-full queue): nobody
        else
            _freed.WakeAll();
    }

    public string Name => Definition.Name;

    public string TaskType => Definition.TaskType;

    public string Backend => RedisQueueBackend.BackendName;

    public QueueDefinition Definition { get; }

    internal RedisQueueKeys Keys => _keys;

    /// <summary>Publishers of this instance parked at capacity right now (for tests).</summary>
    internal int ParkedPublishers => _freed.Waiting;

    /// <summary>Consumers of this instance parked right now (for tests).</summary>
    internal int ParkedConsumers => _gate.Parked;

    /// <summary>Tasks this instance's publishes leased straight to its own parked consumers (for tests).</summary>
    internal long HandOffs => Interlocked.Read(ref _handOffs);

    /// <summary>Publish, ack and renewal batch calls made so far, and the items they carried (for tests and benchmarks).</summary>
    internal (long Calls, long Items) PublishBatches =>
        (_publishes.Batches + Interlocked.Read(ref _publishManyCalls), _publishes.BatchedItems + Interlocked.Read(ref _publishManyItems));

    /// <inheritdoc cref="PublishBatches"/>
    internal (long Calls, long Items) AckBatches => (_acks.Batches, _acks.BatchedItems);

    /// <inheritdoc cref="PublishBatches"/>
    internal (long Calls, long Items) RenewBatches => (_renewals.Batches, _renewals.BatchedItems);

    private IDatabase Db => _connection.GetDatabase();

    /// <summary>
    /// How long a publish that found the queue full marks it as refusing publishes (ms): two poll intervals plus a second, so
    /// the marker lives as long as publishers may be parked (each refused retry renews it). While it lives every free is
    /// announced ('f' + room), not only the first one after the queue was full.
    /// </summary>
    private long FullMarkMs => (long)(_options.PollInterval.TotalMilliseconds * 2) + 1000;

    /// <inheritdoc />
    public int Buffered => _gate.Buffered;

    /// <inheritdoc />
    public void StopLeasing()
    {
        _leasingStopped = true;
        // Parked consumers look again, and from now on serve only the buffer.
        _gate.WakeAll();
    }

    /// <summary>
    /// After <see cref="StopLeasing"/>: the next buffered lease, else a short wait (a fetch that was under way may still buffer
    /// one) until <paramref name="cancellationToken"/> stops the consumer. Never leases anything from Redis.
    /// </summary>
    private async ValueTask<TaskLease<T>> ConsumeBufferedOnlyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_gate.TryTakeBuffered(out var buffered))
            {
                if (await FreshAsync(buffered).ConfigureAwait(false) is { } fresh)
                    return fresh;
                continue;
            }
            await Task.Delay(StoppedLeasingPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default)
    {
        if (!await PublishCoreAsync(envelope, TimeSpan.Zero, null, cancellationToken).ConfigureAwait(false))
            Log.DuplicateIgnored(_logger, Name, envelope.Id);
    }

    public ValueTask<bool> PublishOnceAsync(TaskEnvelope<T> envelope, TimeSpan window, CancellationToken cancellationToken = default)
    {
        if (window <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(window), window, "The deduplication window must be positive.");
        return PublishCoreAsync(envelope, window, null, cancellationToken);
    }

    /// <summary>
    /// Publishes (with a deduplication window when it is positive, fenced by a source lease when <paramref name="fence"/> is set);
    /// false when the id was a duplicate. A fence that no longer holds throws <see cref="SourceLeaseLostException"/>.
    /// </summary>
    private async ValueTask<bool> PublishCoreAsync(TaskEnvelope<T> envelope, TimeSpan window, SourceLease? fence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var payload = _serializer.Serialize(envelope.Payload);
        // A payload longer than a listing's preview also stores its first bytes apart ('pv'), so listing dead letters never
        // reads a whole payload (Redis has no range read of a hash field).
        RedisValue preview = payload.Length > PreviewBytes ? payload.AsMemory(0, PreviewBytes) : RedisValue.EmptyString;
        var headers = HeaderCodec.Encode(envelope.Headers);
        var windowMs = window <= TimeSpan.Zero ? 0L : Math.Max(1L, (long)Math.Ceiling(window.TotalMilliseconds));
        RedisKey[]? keys = null;   // built only for a call of its own (a coalesced publish goes in a batch call)
        var fenceValue = fence is null ? RedisValue.EmptyString : (RedisValue)LeaseHolderValue(fence.Holder, fence.Token);
        var woken = false;   // woken for a freed slot: a publish that does not take it passes the turn on
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                PassedOn(woken);
                cancellationToken.ThrowIfCancellationRequested();
            }
            var now = _time.GetUtcNow();
            var dueMs = envelope.NotBefore is { } notBefore && notBefore > now ? CeilingMs(notBefore) : 0L;
            // Computed before joining: from the join to the finally below nothing may throw (the solo caller must end its turn).
            var leasedUntil = now + Definition.VisibilityTimeout;
            // Another publish of this instance is in flight: this one goes in the next batch call (group commit). A fenced
            // publish (an exclusive source's) always goes alone: its script also checks the source's lease.
            if (fence is null && _publishes.TryJoin(new PublishItem(envelope, payload, preview, headers, windowMs, dueMs), out var joined))
            {
                long code;
                try
                {
                    code = await joined.ConfigureAwait(false);
                    _outage.Succeeded();
                }
                catch (Exception ex) when (IsTransient(ex))
                {
                    _outage.Failed(ex);
                    PassedOn(woken);
                    throw new QueueBackendUnavailableException(Name, Backend, $"Redis at {Endpoints()} did not answer: {ex.Message}", ex);
                }
                if (code >= 1)
                    return true;   // 2: published and leased to this instance
                if (code == -1)
                    return PassedOn(woken);
                woken = await _freed.WaitAsync(_options.PollInterval, cancellationToken).ConfigureAwait(false);
                continue;
            }
            // A consumer of this instance is parked: the script may lease the task to it straight away (no consume trip).
            var handoff = dueMs == 0 && !_leasingStopped && _gate.TryClaimOne();
            var token = handoff ? NextTokenBase() + "1" : string.Empty;
            RedisValue[] args =
            [
                _keys.TaskPrefix, envelope.Id, Definition.Capacity, dueMs, now.ToUnixTimeMilliseconds(), (string)_keys.Channel!,
                payload, envelope.TaskType, envelope.Attempt, envelope.EnqueuedAt.UtcTicks,
                envelope.NotBefore is { } nb ? nb.UtcTicks : RedisValue.EmptyString, headers, envelope.LastError ?? string.Empty, _consumerId,
                token, CeilingMs(leasedUntil), handoff ? ConsumerBeat(now) : string.Empty, windowMs, preview, fenceValue, FullMarkMs,
            ];
            long result = -2;
            try
            {
                // Subscribe before trying, so a 'capacity freed' notification between the try and the wait is not lost.
                await EnsureSubscribedAsync().ConfigureAwait(false);
                keys ??= fence is null
                    ? [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats, _keys.Waiting, _keys.Consumers, _keys.OncePrefix + envelope.Id]
                    : [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats, _keys.Waiting, _keys.Consumers, _keys.OncePrefix + envelope.Id, _keys.SourceLease(fence.Resource)];
                result = (long)await Db.ScriptEvaluateAsync(LuaScripts.Publish, keys, args).ConfigureAwait(false);
                _outage.Succeeded();
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                // A Redis outage, named as one (logged once per outage, with its length when it ends): the caller may wait and retry.
                _outage.Failed(ex);
                PassedOn(woken);
                throw new QueueBackendUnavailableException(Name, Backend, $"Redis at {Endpoints()} did not answer: {ex.Message}", ex);
            }
            finally
            {
                if (handoff && result != 2)
                    _gate.Unreserve((1, 0));
                if (fence is null)
                    _publishes.EndSolo();
            }
            if (result == 2)
            {
                HandOff(envelope, payload, headers, token, leasedUntil);
                return true;
            }
            if (result == 1)
            {
                // This instance's own consumers are woken here, not through Redis (the script announces to the others).
                if (dueMs == 0)
                    _gate.Signal();
                return true;
            }
            if (result == -1)
                return PassedOn(woken);
            if (result == -3)
            {
                PassedOn(woken);
                throw new SourceLeaseLostException(fence!);
            }
            woken = await _freed.WaitAsync(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A publish woken for a freed slot that did not take it wakes the next parked publisher instead. Returns false.</summary>
    private bool PassedOn(bool woken)
    {
        if (woken)
            _freed.Wake(1);
        return false;
    }

    /// <summary>
    /// Publishes in chunks of <see cref="MaxCallBatch"/>, one <see cref="LuaScripts.PublishMany"/> call each. A chunk that finds
    /// the queue full published a prefix of its new tasks: the rest wait for a 'capacity freed' notification and go again, in
    /// order, but only as many as the queue has room for (asked with <see cref="LuaScripts.Room"/>, which carries no payload):
    /// several batch publishers woken by one freed slot would otherwise each send a whole chunk of payloads to publish one task.
    /// </summary>
    public async ValueTask PublishManyAsync(IReadOnlyList<TaskEnvelope<T>> envelopes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelopes);
        var items = new PublishItem[envelopes.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var envelope = envelopes[i] ?? throw new ArgumentException($"Envelope {i} is null.", nameof(envelopes));
            var payload = _serializer.Serialize(envelope.Payload);
            RedisValue preview = payload.Length > PreviewBytes ? payload.AsMemory(0, PreviewBytes) : RedisValue.EmptyString;
            items[i] = new PublishItem(envelope, payload, preview, HeaderCodec.Encode(envelope.Headers), 0, 0);
        }
        var start = 0;
        var room = MaxCallBatch;   // optimistic until the queue is found full
        while (start < items.Length)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = _time.GetUtcNow();
            var size = Math.Min(Math.Min(MaxCallBatch, room), items.Length - start);
            var chunk = new List<PublishItem>(size);
            for (var i = start; i < items.Length && chunk.Count < size; i++)
            {
                var e = items[i].Envelope;
                chunk.Add(items[i] with { DueMs = e.NotBefore is { } nb && nb > now ? CeilingMs(nb) : 0L });
            }
            long[] codes;
            try
            {
                Interlocked.Increment(ref _publishManyCalls);
                Interlocked.Add(ref _publishManyItems, chunk.Count);
                codes = await PublishBatchAsync(chunk).ConfigureAwait(false);
                _outage.Succeeded();
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                _outage.Failed(ex);
                throw new QueueBackendUnavailableException(Name, Backend, $"Redis at {Endpoints()} did not answer: {ex.Message}", ex);
            }
            var full = Array.IndexOf(codes, 0L);
            var done = full < 0 ? chunk.Count : full;
            if (full < 0)
                room = Math.Min(MaxCallBatch, room * 2);   // it fitted: grow back towards whole chunks
            for (var i = 0; i < done; i++)
            {
                if (codes[i] == -1)
                    Log.DuplicateIgnored(_logger, Name, chunk[i].Envelope.Id);
            }
            start += done;
            if (full < 0)
                continue;
            do
            {
                await _freed.WaitAsync(_options.PollInterval, cancellationToken).ConfigureAwait(false);
                room = await RoomAsync().ConfigureAwait(false);
            }
            while (room <= 0);
        }
    }

    /// <summary>The queue's free room now (0 when full), or 1 when Redis does not answer (the next publish then says more).</summary>
    private async Task<int> RoomAsync()
    {
        try
        {
            var room = (long)await Db.ScriptEvaluateAsync(LuaScripts.Room, [_keys.Ready, _keys.Delayed, _keys.Leases], [Definition.Capacity]).ConfigureAwait(false);
            return (int)Math.Clamp(room, 0, MaxCallBatch);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            _outage.Failed(ex);
            return 1;
        }
    }

    /// <summary>
    /// Gives a task the publish script leased to this instance to the parked consumer it was claimed for. The consumer gets
    /// what a consume would have read back: a fresh copy of the payload, UTC times, attempt + 1.
    /// </summary>
    private void HandOff(TaskEnvelope<T> published, byte[] payload, byte[] headers, string token, DateTimeOffset leasedUntil)
    {
        if (HandedOffLease(published, payload, headers, token, leasedUntil) is not { } lease)
        {
            _gate.Unreserve((1, 0));
            return;
        }
        Interlocked.Increment(ref _handOffs);
        if (_gate.Deliver([lease], 0, (1, 0)) is { } rejected)
            GiveBack(rejected);
    }

    /// <summary>
    /// The lease of a task a publish script leased to this instance, as a consume would have read it back: a fresh copy of the
    /// payload, UTC times, attempt + 1. Null when the serializer cannot read what it wrote: the task is then given back
    /// (uncounted), and a consume dead-letters it as unreadable, with the reason.
    /// </summary>
    private TaskLease<T>? HandedOffLease(TaskEnvelope<T> published, byte[] payload, byte[] headers, string token, DateTimeOffset leasedUntil)
    {
        try
        {
            var envelope = new TaskEnvelope<T>(published.Id, string.IsNullOrEmpty(published.TaskType) ? TaskType : published.TaskType,
                _serializer.Deserialize(payload), new DateTimeOffset(published.EnqueuedAt.UtcTicks, TimeSpan.Zero))
            {
                Attempt = published.Attempt + 1,
                NotBefore = published.NotBefore is { } nb ? new DateTimeOffset(nb.UtcTicks, TimeSpan.Zero) : null,
                Headers = HeaderCodec.Decode(headers),
                LastError = string.IsNullOrEmpty(published.LastError) ? null : published.LastError,
            };
            return new TaskLease<T>(Name, envelope, token, leasedUntil);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.HandOffUnreadable(_logger, Name, published.Id, ex);
            GiveBack([new TaskLease<T>(Name, new TaskEnvelope<T>(published.Id, TaskType, default!, published.EnqueuedAt), token, leasedUntil)]);
            return null;
        }
    }

    private string NextTokenBase() =>
        string.Concat(_tokenPrefix, Interlocked.Increment(ref _fetches).ToString(CultureInfo.InvariantCulture), ".");

    public async ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default)
    {
        var backoff = TimeSpan.Zero;
        var mustFetch = false;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Woken to look (the other parked consumers wait again, counting on this look) but leaving without it: another
                // parked consumer looks instead.
                if (mustFetch)
                    _gate.PassOnLook();
                cancellationToken.ThrowIfCancellationRequested();
            }
            if (_leasingStopped)
                return await ConsumeBufferedOnlyAsync(cancellationToken).ConfigureAwait(false);
            var next = _gate.TryTake(mustFetch, IdleWait(out var dueBound), out var buffered, out var waiter, dueBound);
            mustFetch = false;
            if (next == ConsumerGate<TaskLease<T>>.Next.Parked)
            {
                buffered = await waiter!.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (buffered is null)
                {
                    // Woken by a notification or the timeout: look in Redis (or take what a fetch buffered meanwhile).
                    mustFetch = true;
                    continue;
                }
                return buffered;   // handed over straight from a fetch: fresh
            }
            if (next == ConsumerGate<TaskLease<T>>.Next.Sleep)
            {
                await Task.Delay(IdleWait(), cancellationToken).ConfigureAwait(false);
                mustFetch = true;
                continue;
            }
            if (next == ConsumerGate<TaskLease<T>>.Next.Item)
            {
                if (_prefetch > 1)
                    TryRefill();
                if (await FreshAsync(buffered!).ConfigureAwait(false) is { } fresh)
                    return fresh;
                continue;
            }

            // Fetch: this consumer's task, one for each parked consumer nobody fetches for yet, and the prefetch.
            var reserved = _gate.Reserve(MaxBatch - 1, _prefetch);
            var count = 1 + reserved.Claimed + reserved.Prefetched;
            List<TaskLease<T>> leases;
            long readyLeft;
            var fetched = false;
            try
            {
                (leases, readyLeft) = await FetchAsync(count).ConfigureAwait(false);
                fetched = true;
                _outage.Succeeded();
                backoff = TimeSpan.Zero;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxErrorBackoff.Ticks));
                _outage.Failed(ex);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                continue;
            }
            finally
            {
                if (!fetched)
                    _gate.Unreserve(reserved);
            }

            _gate.SetKnownEmpty(readyLeft == 0);
            if (leases.Count == 0)
            {
                _gate.Unreserve(reserved);
                continue;
            }
            if (_gate.Deliver(leases, 1, reserved) is { } rejected)
                GiveBack(rejected);
            if (readyLeft > 0)
                _gate.Signal();
            return leases[0];
        }
    }

    /// <summary>
    /// Starts a background fetch that tops the buffer up when it has fallen to half the prefetch (see
    /// <see cref="ConsumerGate{TItem}.ReserveRefill"/>): under load the next leases are on their way while the consumers still
    /// take from the buffer. At most one runs at a time; disposal waits for it.
    /// </summary>
    private void TryRefill()
    {
        if (_leasingStopped || !_gate.MayRefill(_prefetch))
            return;
        // Reserved and recorded under one lock, so a disposal that closed the gate either sees this read-ahead or stops it.
        lock (_refillLock)
        {
            var count = _gate.ReserveRefill(_prefetch, MaxBatch);
            if (count > 0)
                _refill = RefillAsync(count);
        }
    }

    private async Task RefillAsync(int count)
    {
        await Task.Yield();   // the caller holds the read-ahead lock: nothing of the fetch runs under it
        var reserved = (Claimed: 0, Prefetched: count);
        List<TaskLease<T>>? leases = null;
        long readyLeft = 0;
        try
        {
            (leases, readyLeft) = await FetchAsync(count).ConfigureAwait(false);
            _outage.Succeeded();
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // The consumers fetch on their own when the buffer runs dry (and meet the outage there, with its backoff).
            _outage.Failed(ex);
        }
#pragma warning disable CA1031 // A background read-ahead must not fault unobserved; the next consume fetches (and reports) itself.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.RefillFailed(_logger, Name, ex);
        }
        if (leases is null)
        {
            _gate.EndRefill(reserved);
            return;
        }
        _gate.SetKnownEmpty(readyLeft == 0);
        if (leases.Count == 0)
        {
            _gate.EndRefill(reserved);
            return;
        }
        if (_gate.Deliver(leases, 0, reserved, refill: true) is { } rejected)
            GiveBack(rejected);
    }

    /// <summary>One consume script: leases up to <paramref name="count"/> tasks. Unreadable ones are dead-lettered and skipped.</summary>
    private async Task<(List<TaskLease<T>> Leases, long ReadyLeft)> FetchAsync(int count)
    {
        await EnsureSubscribedAsync().ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var leasedUntil = now + Definition.VisibilityTimeout;
        var tokenBase = NextTokenBase();
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Dead, _keys.Consumers, _keys.Waiting];
        RedisValue[] args =
        [
            _keys.TaskPrefix, now.ToUnixTimeMilliseconds(), CeilingMs(leasedUntil), tokenBase, ConsumerBeat(now),
            Definition.MaxAttempts, now.UtcTicks, (string)_keys.Channel!, count, _consumerId,
        ];
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.Consume, keys, args).ConfigureAwait(false))!;
        var n = (int)(long)reply[0];
        var readyLeft = (long)reply[1];
        Volatile.Write(ref _nextWakeMs, Math.Min(ReadMs(reply[2]), ReadMs(reply[3])));
        var leases = new List<TaskLease<T>>(n);
        for (var i = 0; i < n; i++)
        {
            var token = string.Concat(tokenBase, (i + 1).ToString(CultureInfo.InvariantCulture));
            var lease = TryReadLease(reply, 4 + (i * 8), token, leasedUntil, out var id, out var problem);
            if (lease is not null)
                leases.Add(lease);
            else
                await DeadLetterUnreadableAsync(id, token, problem!).ConfigureAwait(false);
        }
        // Records the script found corrupt and dead-lettered itself (before anything was written to them).
        for (var i = 4 + (n * 8); i + 1 < reply.Length; i += 2)
            Log.CorruptRecordDeadLettered(_logger, Name, (string?)reply[i] ?? "", (string?)reply[i + 1] ?? "");
        return (leases, readyLeft);
    }

    /// <summary>
    /// A buffered lease is handed out only with at least half a visibility timeout left (the worker renews it from there);
    /// otherwise it is renewed first, and dropped when the renewal finds it lost (it expired and went back to the queue).
    /// </summary>
    private async ValueTask<TaskLease<T>?> FreshAsync(TaskLease<T> lease)
    {
        if (lease.LeasedUntil - _time.GetUtcNow() >= Definition.VisibilityTimeout / 2)
            return lease;
        try
        {
            return await RenewLeaseAsync(lease).ConfigureAwait(false) ? lease : null;
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // The lease stays in Redis and expires; the task comes back.
            Log.BufferedRenewFailed(_logger, Name, ex);
            return null;
        }
    }

    /// <summary>Gives buffered leases back (front of the ready list, the delivery uncounted) with an owner that logs failures.</summary>
    private void GiveBack(List<TaskLease<T>> leases)
    {
        lock (_releasingLock)
            _releasing = ReleaseAllAsync(_releasing, leases);
    }

    private async Task ReleaseAllAsync(Task previous, List<TaskLease<T>> leases)
    {
        await previous.ConfigureAwait(false);   // never faults: every failure is caught below
        try
        {
            // Release puts a task at the consuming end, so the last one goes first: they come back in their order.
            // The calls are pipelined on one connection, so they run in the order they are sent.
            var calls = new Task[leases.Count];
            for (var i = leases.Count - 1; i >= 0; i--)
                calls[i] = ReleaseAsync(leases[i]).AsTask();
            await Task.WhenAll(calls).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Redis away or the connection closed: they expire and come back (the delivery then counts as an attempt).
            Log.GiveBackFailed(_logger, Name, leases.Count, ex);
        }
    }

    public async ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        // Acks of several workers that finish while one ack is in flight go together in the next call.
        if (_acks.TryJoin((lease.Envelope.Id, lease.Token), out var joined))
            return await joined.ConfigureAwait(false) == 1;
        try
        {
            RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats];
            RedisValue[] args = [_keys.TaskPrefix, lease.Envelope.Id, lease.Token, (string)_keys.Channel!, Definition.Capacity];
            return (long)await Db.ScriptEvaluateAsync(LuaScripts.Ack, keys, args).ConfigureAwait(false) == 1;
        }
        finally
        {
            _acks.EndSolo();
        }
    }

    public async ValueTask<NackResult> NackAsync(TaskLease<T> lease, TimeSpan? retryDelay = null, string? error = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        var delay = retryDelay is { } d && d > TimeSpan.Zero ? d : TimeSpan.Zero;
        var due = now + delay;
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Dead, _keys.Stats];
        RedisValue[] args =
        [
            _keys.TaskPrefix, lease.Envelope.Id, lease.Token, now.ToUnixTimeMilliseconds(), delay > TimeSpan.Zero ? CeilingMs(due) : 0L,
            due.UtcTicks, error ?? string.Empty, Definition.MaxAttempts, now.UtcTicks, (string)_keys.Channel!, Definition.Capacity,
        ];
        var result = (long)await Db.ScriptEvaluateAsync(LuaScripts.Nack, keys, args).ConfigureAwait(false);
        return result switch
        {
            1 => NackResult.Requeued,
            2 => NackResult.DeadLettered,
            _ => NackResult.LeaseLost,
        };
    }

    public async ValueTask<bool> DeadLetterAsync(TaskLease<T> lease, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        return await DeadLetterCoreAsync(lease.Envelope.Id, lease.Token, reason ?? string.Empty).ConfigureAwait(false);
    }

    public async ValueTask<bool> ReleaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        RedisKey[] keys = [_keys.Ready, _keys.Leases];
        RedisValue[] args = [_keys.TaskPrefix, lease.Envelope.Id, lease.Token, (string)_keys.Channel!];
        return (long)await Db.ScriptEvaluateAsync(LuaScripts.Release, keys, args).ConfigureAwait(false) == 1;
    }

    public async ValueTask<bool> RenewLeaseAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        // The renewals of one tick (one per busy worker) go together while one is in flight.
        if (_renewals.TryJoin((lease.Envelope.Id, lease.Token), out var joined))
        {
            var renewedUntil = await joined.ConfigureAwait(false);
            if (renewedUntil == 0)
                return false;
            lease.LeasedUntil = DateTimeOffset.FromUnixTimeMilliseconds(renewedUntil);
            return true;
        }
        try
        {
            var now = _time.GetUtcNow();
            var until = now + Definition.VisibilityTimeout;
            RedisKey[] keys = [_keys.Leases, _keys.Consumers];
            RedisValue[] args = [_keys.TaskPrefix, lease.Envelope.Id, lease.Token, CeilingMs(until), now.ToUnixTimeMilliseconds(), _consumerId];
            if ((long)await Db.ScriptEvaluateAsync(LuaScripts.Renew, keys, args).ConfigureAwait(false) != 1)
                return false;
            lease.LeasedUntil = until;
            return true;
        }
        finally
        {
            _renewals.EndSolo();
        }
    }

    /// <summary>One publish waiting for a batch call: what the script needs, serialized by the caller.</summary>
    private readonly record struct PublishItem(TaskEnvelope<T> Envelope, byte[] Payload, RedisValue Preview, byte[] Headers, long WindowMs, long DueMs);

    /// <summary>
    /// One <see cref="LuaScripts.PublishMany"/> call for <paramref name="items"/>: a code per task (1 published, 2 published and
    /// leased to this instance, 0 full, -1 duplicate). The tasks this instance can take at once (its parked consumers that no fetch
    /// serves yet, and its prefetch room) are leased to it by the same script when nothing older is ready: they go straight to its
    /// consumers or its buffer, with no consume round trip and no second read of the payload. Wakes a consumer of this instance
    /// when a task became ready (the script announces to the other instances).
    /// </summary>
    private async Task<long[]> PublishBatchAsync(List<PublishItem> items)
    {
        await EnsureSubscribedAsync().ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var readyAsked = 0;
        foreach (var item in items)
        {
            if (item.DueMs <= nowMs)   // a due time that passed while the publish waited for this batch counts as ready, as in the script
                readyAsked++;
        }
        var reserved = readyAsked > 0 && !_leasingStopped ? _gate.ReserveHandOff(Math.Min(readyAsked, MaxBatch), _prefetch) : default;
        var handOff = reserved.Claimed + reserved.Prefetched;
        var tokenBase = handOff > 0 ? NextTokenBase() : string.Empty;
        var leasedUntil = now + Definition.VisibilityTimeout;
        const int Fixed = 13, PerTask = 11;
        var args = new RedisValue[Fixed + (PerTask * items.Count)];
        args[0] = _keys.TaskPrefix;
        args[1] = Definition.Capacity;
        args[2] = nowMs;
        args[3] = (string)_keys.Channel!;
        args[4] = _consumerId;
        args[5] = _keys.OncePrefix;
        args[6] = FullMarkMs;
        args[7] = handOff;
        args[8] = tokenBase;
        args[9] = CeilingMs(leasedUntil);
        args[10] = handOff > 0 ? ConsumerBeat(now) : string.Empty;
        args[11] = Definition.MaxAttempts;
        args[12] = now.UtcTicks;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var e = item.Envelope;
            var a = Fixed + (i * PerTask);
            args[a] = e.Id;
            args[a + 1] = item.DueMs;
            args[a + 2] = item.Payload;
            args[a + 3] = e.TaskType;
            args[a + 4] = e.Attempt;
            args[a + 5] = e.EnqueuedAt.UtcTicks;
            args[a + 6] = e.NotBefore is { } nb ? nb.UtcTicks : RedisValue.EmptyString;
            args[a + 7] = item.Headers;
            args[a + 8] = e.LastError ?? string.Empty;
            args[a + 9] = item.WindowMs;
            args[a + 10] = item.Preview;
        }
        RedisResult[] reply;
        try
        {
            reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.PublishMany,
                [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats, _keys.Waiting, _keys.Consumers, _keys.Dead], args).ConfigureAwait(false))!;
        }
        catch
        {
            _gate.Unreserve(reserved);
            throw;
        }
        var codes = new long[reply.Length];
        var readied = false;
        List<TaskLease<T>>? handed = null;
        var leased = 0;   // the script numbers every task it leased (code 2), readable or not: the j-th has the token tokenBase .. j
        for (var i = 0; i < reply.Length; i++)
        {
            codes[i] = (long)reply[i];
            readied |= codes[i] == 1 && i < items.Count && items[i].DueMs <= nowMs;   // as the script decides: due by its now
            if (codes[i] == 2 && i < items.Count)
            {
                handed ??= new List<TaskLease<T>>(handOff);
                var token = string.Concat(tokenBase, (++leased).ToString(CultureInfo.InvariantCulture));
                if (HandedOffLease(items[i].Envelope, items[i].Payload, items[i].Headers, token, leasedUntil) is { } lease)
                    handed.Add(lease);
            }
        }
        if (handed is null)
        {
            // Published to the ready list with room to hand off: older tasks were waiting.
            _gate.Unreserve(reserved, handOffRefused: handOff > 0 && readied);
        }
        else
        {
            Interlocked.Add(ref _handOffs, handed.Count);
            if (_gate.Deliver(handed, 0, reserved) is { } rejected)
                GiveBack(rejected);
        }
        // This instance's own consumers are woken here, not through Redis: one fetch leases for every parked consumer. The ready
        // list is not empty now: a consumer that finds the buffer empty fetches, and the read-ahead may run.
        if (readied)
        {
            _gate.SetKnownEmpty(false);
            _gate.Signal();
        }
        return codes;
    }

    private async Task<long[]> AckBatchAsync(List<(string Id, string Token)> items)
    {
        var args = new RedisValue[3 + (2 * items.Count)];
        args[0] = _keys.TaskPrefix;
        args[1] = (string)_keys.Channel!;
        args[2] = Definition.Capacity;
        for (var i = 0; i < items.Count; i++)
        {
            args[3 + (2 * i)] = items[i].Id;
            args[4 + (2 * i)] = items[i].Token;
        }
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.AckMany,
            [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats], args).ConfigureAwait(false))!;
        return Array.ConvertAll(reply, r => (long)r);
    }

    /// <summary>One <see cref="LuaScripts.RenewMany"/> call: per lease the new expiry (Unix ms), or 0 when the lease was lost.</summary>
    private async Task<long[]> RenewBatchAsync(List<(string Id, string Token)> items)
    {
        var now = _time.GetUtcNow();
        var untilMs = CeilingMs(now + Definition.VisibilityTimeout);
        var args = new RedisValue[4 + (2 * items.Count)];
        args[0] = _keys.TaskPrefix;
        args[1] = untilMs;
        args[2] = now.ToUnixTimeMilliseconds();
        args[3] = _consumerId;
        for (var i = 0; i < items.Count; i++)
        {
            args[4 + (2 * i)] = items[i].Id;
            args[5 + (2 * i)] = items[i].Token;
        }
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.RenewMany, [_keys.Leases, _keys.Consumers], args).ConfigureAwait(false))!;
        return Array.ConvertAll(reply, r => (long)r == 1 ? untilMs : 0L);
    }

    public async ValueTask<QueueStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = _time.GetUtcNow();
        var window = Definition.VisibilityTimeout > MinConsumerWindow ? Definition.VisibilityTimeout : MinConsumerWindow;
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Dead, _keys.Stats, _keys.Consumers];
        RedisValue[] args =
        [
            _keys.TaskPrefix, now.ToUnixTimeMilliseconds(), Definition.MaxAttempts, now.UtcTicks,
            (now - window).ToUnixTimeMilliseconds(), (string)_keys.Channel!,
        ];
        var r = (RedisResult[])(await AvailableAsync(() => Db.ScriptEvaluateAsync(LuaScripts.Stats, keys, args)).ConfigureAwait(false))!;
        return new QueueStats
        {
            Depth = (long)r[0],
            Delayed = (long)r[1],
            InFlight = (long)r[2],
            DeadLettered = (long)r[3],
            Published = (long)r[4],
            Acked = (long)r[5],
            Nacked = (long)r[6],
            Consumers = (int)(long)r[7],
            Capacity = Definition.Capacity,
        };
    }

    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default) =>
        (await ListDeadLettersAsync(max, cancellationToken).ConfigureAwait(false)).Items;

    /// <summary>The dead letters, oldest first; an entry whose record cannot be read is skipped, logged and reported, never thrown.</summary>
    public async ValueTask<DeadLetterListing> ListDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (max <= 0)
            return new DeadLetterListing([], []);
        var r = (RedisResult[])(await AvailableAsync(() => Db.ScriptEvaluateAsync(LuaScripts.ListDead, [_keys.Dead], [_keys.TaskPrefix, max, PreviewBytes])).ConfigureAwait(false))!;
        var list = new List<DeadLetter>(r.Length / 9);
        List<UnreadableDeadLetter>? skipped = null;
        for (var i = 0; i + 8 < r.Length; i += 9)
        {
            var id = (string?)r[i] ?? "";
            if (TryReadDeadLetter(r.AsSpan(i, 9), out var problem) is { } letter)
            {
                list.Add(letter);
                continue;
            }
            Log.UnreadableDeadLetterSkipped(_logger, Name, id, problem!);
            (skipped ??= []).Add(new UnreadableDeadLetter(id, problem!));
        }
        return new DeadLetterListing(list, skipped ?? []);
    }

    /// <summary>One listed dead letter, or null and why it cannot be read.</summary>
    private DeadLetter? TryReadDeadLetter(ReadOnlySpan<RedisResult> r, out string? problem)
    {
        problem = null;
        var keyType = (string?)r[1];
        if (keyType != "hash")
        {
            problem = keyType is null or "none" ? "the task record no longer exists" : $"the task record is a Redis {keyType}, not a hash";
            return null;
        }
        var attempts = 0;
        if (!r[3].IsNull && !int.TryParse((string?)r[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out attempts))
            problem = $"attempt count {Quote((string?)r[3])} is not a whole number";
        if (!TryTicks((string?)r[5], out var enqueuedAt))
            problem = Join(problem, $"enqueued-at {Quote((string?)r[5])} is not a time (UTC ticks)");
        if (!TryTicks((string?)r[6], out var deadAt))
            problem = Join(problem, $"dead-lettered-at {Quote((string?)r[6])} is not a time (UTC ticks)");
        if (problem is not null)
            return null;
        var size = r[8].IsNull ? (long?)null : (long)r[8];
        var (preview, truncated) = RenderPreview((byte[]?)r[7], size);
        return new DeadLetter((string)r[0]!, Name, (string?)r[2] ?? TaskType, attempts, (string?)r[4] ?? string.Empty,
            enqueuedAt ?? DateTimeOffset.MinValue, deadAt ?? DateTimeOffset.MinValue, preview) { PayloadSize = size, PayloadTruncated = truncated };

        static string Join(string? first, string next) => first is null ? next : first + "; " + next;
        static string Quote(string? value) => value is null ? "(none)" : "'" + (value.Length <= 64 ? value : string.Concat(value.AsSpan(0, 64), "…")) + "'";
    }

    /// <summary>Reads UTC ticks; empty is "not set" (null). False when the text is not a valid time.</summary>
    private static bool TryTicks(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
            return true;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) || ticks > DateTimeOffset.MaxValue.UtcTicks)
            return false;
        time = new DateTimeOffset(ticks, TimeSpan.Zero);
        return true;
    }

    public async ValueTask<DeadLetter?> GetDeadLetterAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        cancellationToken.ThrowIfCancellationRequested();
        var result = await AvailableAsync(() => Db.ScriptEvaluateAsync(LuaScripts.GetDead, [_keys.Dead], [_keys.TaskPrefix, id])).ConfigureAwait(false);
        if (result.IsNull)
            return null;
        var r = (RedisResult[])result!;
        var payload = (byte[]?)r[5];
        // A corrupt attempt count reads as 0 rather than failing the read: the payload is what the operator came for.
        return new DeadLetter(
            id,
            Name,
            (string?)r[0] ?? TaskType,
            int.TryParse((string?)r[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var attempts) ? attempts : 0,
            (string?)r[2] ?? string.Empty,
            TryTicks((string?)r[3], out var enqueuedAt) ? enqueuedAt ?? DateTimeOffset.MinValue : DateTimeOffset.MinValue,
            TryTicks((string?)r[4], out var deadAt) ? deadAt ?? DateTimeOffset.MinValue : DateTimeOffset.MinValue,
            RenderPayload(payload)) { PayloadSize = payload?.Length };
    }

    public async ValueTask<int> RetryDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        RedisKey[] keys = [_keys.Dead, _keys.Ready];
        RedisValue[] prefix = [_keys.TaskPrefix, (string)_keys.Channel!];
        return await RunOverIdsAsync(LuaScripts.RetryDead, keys, prefix, ids, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> PurgeDeadLettersAsync(IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return await RunOverIdsAsync(LuaScripts.PurgeDead, [_keys.Dead], [_keys.TaskPrefix], ids, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> RunOverIdsAsync(string script, RedisKey[] keys, RedisValue[] fixedArgs, IReadOnlyCollection<string>? ids, CancellationToken cancellationToken)
    {
        var total = 0;
        if (ids is null)
        {
            // All: the script takes the oldest batch each call until a short batch says the store is empty.
            int n;
            do
            {
                cancellationToken.ThrowIfCancellationRequested();
                n = (int)(long)await AvailableAsync(() => Db.ScriptEvaluateAsync(script, keys, fixedArgs)).ConfigureAwait(false);
                total += n;
            }
            while (n == ScriptBatch);
            return total;
        }

        foreach (var chunk in ids.Chunk(IdChunk))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var args = new RedisValue[fixedArgs.Length + chunk.Length];
            fixedArgs.CopyTo(args, 0);
            for (var i = 0; i < chunk.Length; i++)
                args[fixedArgs.Length + i] = chunk[i];
            total += (int)(long)await AvailableAsync(() => Db.ScriptEvaluateAsync(script, keys, args)).ConfigureAwait(false);
        }
        return total;
    }

    /// <summary>
    /// Runs an operation of the operator's view (stats, dead-letter listing, retry, purge): it fails at once with
    /// <see cref="QueueBackendUnavailableException"/> while the connection is down, instead of queueing behind the client's
    /// reconnect for its whole timeout, and turns connection errors and timeouts into that exception too.
    /// </summary>
    private async Task<RedisResult> AvailableAsync(Func<Task<RedisResult>> operation)
    {
        if (!_connection.IsConnected)
            throw new QueueBackendUnavailableException(Name, Backend, $"not connected to Redis at {Endpoints()}");
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            throw new QueueBackendUnavailableException(Name, Backend, $"Redis at {Endpoints()} did not answer: {ex.Message}", ex);
        }
    }

    private string Endpoints() => string.Join(",", _connection.GetEndPoints().Select(e => e.ToString()));

    private async Task<bool> DeadLetterCoreAsync(string id, string token, string reason)
    {
        var now = _time.GetUtcNow();
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Dead];
        RedisValue[] args = [_keys.TaskPrefix, id, token, now.ToUnixTimeMilliseconds(), reason, now.UtcTicks, (string)_keys.Channel!, Definition.Capacity];
        return (long)await Db.ScriptEvaluateAsync(LuaScripts.DeadLetter, keys, args).ConfigureAwait(false) == 1;
    }

    private async Task DeadLetterUnreadableAsync(string id, string token, string problem)
    {
        Log.UnreadableDeadLettered(_logger, Name, id, problem);
        try
        {
            await DeadLetterCoreAsync(id, token, problem).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // The lease stays; it expires and the task is read again (and dead-lettered then, at the latest after MaxAttempts).
            _outage.Failed(ex);
        }
    }

    /// <summary>Stops listening for notifications and removes this instance from the consumer count. Tasks stay in Redis.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        var buffered = _gate.Close();
        if (buffered.Count > 0)
            GiveBack(buffered);
        // A read-ahead under way delivers into the closed gate, which hands its leases back (queued before the wait below).
        Task refill;
        lock (_refillLock)
            refill = _refill;
        await refill.ConfigureAwait(false);
        Task releasing;
        lock (_releasingLock)
            releasing = _releasing;
        await releasing.ConfigureAwait(false);
        _gate.Dispose();
        try
        {
            if (Volatile.Read(ref _subscribed) == 1)
                await _connection.GetSubscriber().UnsubscribeAsync(_keys.Channel, _onEvent).ConfigureAwait(false);
            await Task.WhenAll(
                Db.SortedSetRemoveAsync(_keys.Consumers, _consumerId),
                Db.HashDeleteAsync(_keys.Waiting, _consumerId)).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // Redis is away; the consumer entry ages out of the count on its own.
            Log.SubscribeFailed(_logger, Name, ex);
        }
        _freed.WakeAll();
    }

    private TaskLease<T>? TryReadLease(RedisResult[] reply, int offset, string token, DateTimeOffset leasedUntil, out string id, out string? problem)
    {
        var r = reply.AsSpan(offset - 1, 9);
        id = (string)r[1]!;
        problem = null;
        TaskEnvelope<T> envelope;
        try
        {
            var attempt = (int)(long)r[2];
            var taskType = (string?)r[3];
            var enqueuedAt = FromTicks((string?)r[4]) ?? throw new FormatException("The enqueued-at time is missing.");
            var notBefore = FromTicks((string?)r[5]);
            var headers = HeaderCodec.Decode((byte[]?)r[6] ?? []);
            var lastError = (string?)r[7];
            var payload = _serializer.Deserialize((byte[]?)r[8] ?? []);
            envelope = new TaskEnvelope<T>(id, string.IsNullOrEmpty(taskType) ? TaskType : taskType, payload, enqueuedAt)
            {
                Attempt = attempt,
                NotBefore = notBefore,
                Headers = headers,
                LastError = string.IsNullOrEmpty(lastError) ? null : lastError,
            };
        }
        catch (TaskDeserializationException ex)
        {
            problem = "Payload could not be deserialized: " + ex.Message;
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // A serializer that throws something else, or corrupt metadata, must not crash the consumer or block the queue.
            problem = $"Task could not be read ({ex.GetType().Name}): {ex.Message}";
            return null;
        }
        return new TaskLease<T>(Name, envelope, token, leasedUntil);
    }

    /// <summary>
    /// The consumer id when this instance's last-seen time is due for a refresh (at most once a second), else empty:
    /// idle polling then writes nothing, so it neither grows the AOF nor costs an fsync.
    /// </summary>
    private string ConsumerBeat(DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var last = Interlocked.Read(ref _lastConsumerBeatMs);
        if (last != long.MinValue && nowMs >= last && nowMs - last < ConsumerBeatMs)
            return string.Empty;
        return Interlocked.CompareExchange(ref _lastConsumerBeatMs, nowMs, last) == last ? _consumerId : string.Empty;
    }

    /// <summary>How long a parked consumer waits (real time): until the next due task or lease expiry, at most the poll interval.</summary>
    private TimeSpan IdleWait() => IdleWait(out _);

    /// <inheritdoc cref="IdleWait()"/>
    /// <param name="dueBound">The wait ends at a due time or lease expiry, before the poll interval.</param>
    private TimeSpan IdleWait(out bool dueBound)
    {
        dueBound = false;
        var wait = _options.PollInterval;
        var next = Volatile.Read(ref _nextWakeMs);
        if (next == long.MaxValue)
            return wait;
        var until = TimeSpan.FromMilliseconds(Math.Max(1, next - _time.GetUtcNow().ToUnixTimeMilliseconds() + 1));
        dueBound = until < wait;
        return dueBound ? until : wait;
    }

    private static long ReadMs(RedisResult value) =>
        !value.IsNull && double.TryParse((string?)value, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? (long)Math.Ceiling(ms) : long.MaxValue;

    private async ValueTask EnsureSubscribedAsync()
    {
        if (Volatile.Read(ref _subscribed) == 1 || Interlocked.Exchange(ref _subscribed, 1) == 1)
            return;
        try
        {
            await _connection.GetSubscriber().SubscribeAsync(_keys.Channel, _onEvent).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // Polling still finds the work; try again on the next call.
            Volatile.Write(ref _subscribed, 0);
            Log.SubscribeFailed(_logger, Name, ex);
        }
    }

    private static bool IsTransient(Exception ex) => ex switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal),
        _ => false,
    };

    private static long CeilingMs(DateTimeOffset time)
    {
        var ms = time.ToUnixTimeMilliseconds();
        return time.UtcTicks % TimeSpan.TicksPerMillisecond == 0 ? ms : ms + 1;
    }

    private static DateTimeOffset? FromTicks(string? ticks) =>
        string.IsNullOrEmpty(ticks) ? null : new DateTimeOffset(long.Parse(ticks, NumberStyles.Integer, CultureInfo.InvariantCulture), TimeSpan.Zero);

    private static string? RenderPayload(byte[]? payload)
    {
        if (payload is null)
            return null;
        try
        {
            return new UTF8Encoding(false, true).GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return "base64:" + Convert.ToBase64String(payload);
        }
    }

    /// <summary>
    /// The listing's preview from the first bytes of a payload (<paramref name="size"/> is the whole payload's): at most
    /// <see cref="DeadLetter.PreviewLength"/> characters, a UTF-8 sequence cut by the byte limit left out; true when it is shorter
    /// than the payload.
    /// </summary>
    internal static (string? Text, bool Truncated) RenderPreview(byte[]? prefix, long? size)
    {
        if (prefix is null)
            return (null, size > 0);
        var cut = size > prefix.Length;
        string text;
        try
        {
            var decoder = new UTF8Encoding(false, true).GetDecoder();
            var chars = new char[prefix.Length];
            // Not flushed: an incomplete sequence at the end (cut by the byte limit) is held back instead of failing.
            var count = decoder.GetChars(prefix, 0, prefix.Length, chars, 0, flush: !cut);
            text = new string(chars, 0, count);
        }
        catch (DecoderFallbackException)
        {
            text = "base64:" + Convert.ToBase64String(prefix, 0, Math.Min(prefix.Length, DeadLetter.PreviewLength / 4 * 3));
        }
        if (text.Length > DeadLetter.PreviewLength)
            return (text[..DeadLetter.PreviewLength], true);
        return (text, cut);
    }
}
