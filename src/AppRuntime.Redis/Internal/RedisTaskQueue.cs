using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>
/// A durable queue on Redis: a ready LIST, a delayed ZSET (due time), a leases ZSET (lease expiry), a dead-letter ZSET and
/// one HASH per task, changed only by the Lua scripts in <see cref="LuaScripts"/>. See docs/adapters/redis.md.
/// </summary>
internal sealed class RedisTaskQueue<T> : ITaskQueue<T>, IAsyncDisposable
{
    private const int IdChunk = 500;
    private const int ScriptBatch = 1000;
    private const int DeadLetterPayloadChars = 4096;
    private static readonly TimeSpan MinConsumerWindow = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan MaxErrorBackoff = TimeSpan.FromSeconds(2);

    private readonly IConnectionMultiplexer _connection;
    private readonly TaskSerializer<T> _serializer;
    private readonly RedisQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisQueueKeys _keys;
    private readonly string _consumerId;
    private readonly WakeSignal _ready = new();
    private readonly WakeSignal _freed = new();
    private readonly Action<RedisChannel, RedisValue> _onEvent;
    private const long ConsumerBeatMs = 1000;
    private long _lastConsumerBeatMs = long.MinValue;
    private int _subscribed;
    private int _disposed;

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
        _consumerId = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}");
        _onEvent = (_, message) =>
        {
            if (message == "r")
                _ready.WakeOne();
            else
                _freed.WakeAll();
        };
    }

    public string Name => Definition.Name;

    public string TaskType => Definition.TaskType;

    public string Backend => RedisQueueBackend.BackendName;

    public QueueDefinition Definition { get; }

    internal RedisQueueKeys Keys => _keys;

    private IDatabase Db => _connection.GetDatabase();

    public async ValueTask PublishAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var payload = _serializer.Serialize(envelope.Payload);
        var headers = HeaderCodec.Encode(envelope.Headers);
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = _time.GetUtcNow();
            var dueMs = envelope.NotBefore is { } notBefore && notBefore > now ? CeilingMs(notBefore) : 0L;
            RedisValue[] args =
            [
                _keys.TaskPrefix, envelope.Id, Definition.Capacity, dueMs, now.ToUnixTimeMilliseconds(), (string)_keys.Channel!,
                payload, envelope.TaskType, envelope.Attempt, envelope.EnqueuedAt.UtcTicks,
                envelope.NotBefore is { } nb ? nb.UtcTicks : RedisValue.EmptyString, headers, envelope.LastError ?? string.Empty,
            ];
            // Subscribe before trying, so a 'capacity freed' notification between the try and the wait is not lost.
            await EnsureSubscribedAsync().ConfigureAwait(false);
            var result = (long)await Db.ScriptEvaluateAsync(LuaScripts.Publish, keys, args).ConfigureAwait(false);
            if (result == 1)
                return;
            if (result == -1)
            {
                Log.DuplicateIgnored(_logger, Name, envelope.Id);
                return;
            }
            await _freed.WaitAsync(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<TaskLease<T>> ConsumeAsync(CancellationToken cancellationToken = default)
    {
        var backoff = TimeSpan.Zero;
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Dead, _keys.Consumers];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            RedisResult[] reply;
            var token = Guid.NewGuid().ToString("N");
            var now = _time.GetUtcNow();
            var leasedUntil = now + Definition.VisibilityTimeout;
            try
            {
                await EnsureSubscribedAsync().ConfigureAwait(false);
                RedisValue[] args =
                [
                    _keys.TaskPrefix, now.ToUnixTimeMilliseconds(), CeilingMs(leasedUntil), token, ConsumerBeat(now),
                    Definition.MaxAttempts, now.UtcTicks, (string)_keys.Channel!,
                ];
                reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.Consume, keys, args).ConfigureAwait(false))!;
                backoff = TimeSpan.Zero;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxErrorBackoff.Ticks));
                Log.ConsumeFailed(_logger, Name, backoff, ex);
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if ((long)reply[0] == 1)
            {
                var lease = TryReadLease(reply, token, leasedUntil, out var id, out var problem);
                if (lease is not null)
                    return lease;
                await DeadLetterUnreadableAsync(id, token, problem!).ConfigureAwait(false);
                continue;
            }

            await _ready.WaitAsync(IdleWait(reply, now), cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<bool> AckAsync(TaskLease<T> lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        RedisKey[] keys = [_keys.Ready, _keys.Delayed, _keys.Leases, _keys.Stats];
        RedisValue[] args = [_keys.TaskPrefix, lease.Envelope.Id, lease.Token, (string)_keys.Channel!, Definition.Capacity];
        return (long)await Db.ScriptEvaluateAsync(LuaScripts.Ack, keys, args).ConfigureAwait(false) == 1;
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
        var now = _time.GetUtcNow();
        var until = now + Definition.VisibilityTimeout;
        RedisKey[] keys = [_keys.Leases, _keys.Consumers];
        RedisValue[] args = [_keys.TaskPrefix, lease.Envelope.Id, lease.Token, CeilingMs(until), now.ToUnixTimeMilliseconds(), _consumerId];
        if ((long)await Db.ScriptEvaluateAsync(LuaScripts.Renew, keys, args).ConfigureAwait(false) != 1)
            return false;
        lease.LeasedUntil = until;
        return true;
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
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.Stats, keys, args).ConfigureAwait(false))!;
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

    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max = 100, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (max <= 0)
            return [];
        var r = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.ListDead, [_keys.Dead], [_keys.TaskPrefix, max]).ConfigureAwait(false))!;
        var list = new List<DeadLetter>(r.Length / 7);
        for (var i = 0; i + 6 < r.Length; i += 7)
        {
            var id = (string)r[i]!;
            var attempts = r[i + 2].IsNull ? 0 : (int)(long)r[i + 2];
            list.Add(new DeadLetter(
                id,
                Name,
                (string?)r[i + 1] ?? TaskType,
                attempts,
                (string?)r[i + 3] ?? string.Empty,
                FromTicks((string?)r[i + 4]) ?? DateTimeOffset.MinValue,
                FromTicks((string?)r[i + 5]) ?? DateTimeOffset.MinValue,
                RenderPayload((byte[]?)r[i + 6])));
        }
        return list;
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
                n = (int)(long)await Db.ScriptEvaluateAsync(script, keys, fixedArgs).ConfigureAwait(false);
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
            total += (int)(long)await Db.ScriptEvaluateAsync(script, keys, args).ConfigureAwait(false);
        }
        return total;
    }

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
            Log.ConsumeFailed(_logger, Name, TimeSpan.Zero, ex);
        }
    }

    /// <summary>Stops listening for notifications and removes this instance from the consumer count. Tasks stay in Redis.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        try
        {
            if (Volatile.Read(ref _subscribed) == 1)
                await _connection.GetSubscriber().UnsubscribeAsync(_keys.Channel, _onEvent).ConfigureAwait(false);
            await Db.SortedSetRemoveAsync(_keys.Consumers, _consumerId).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            // Redis is away; the consumer entry ages out of the count on its own.
            Log.SubscribeFailed(_logger, Name, ex);
        }
        _ready.WakeAll();
        _freed.WakeAll();
    }

    private TaskLease<T>? TryReadLease(RedisResult[] r, string token, DateTimeOffset leasedUntil, out string id, out string? problem)
    {
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

    private TimeSpan IdleWait(RedisResult[] reply, DateTimeOffset now)
    {
        var wait = _options.PollInterval;
        var nowMs = now.ToUnixTimeMilliseconds();
        foreach (var next in (ReadOnlySpan<RedisResult>)[reply[1], reply[2]])
        {
            if (next.IsNull || !double.TryParse((string?)next, NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                continue;
            var until = TimeSpan.FromMilliseconds(Math.Max(1, ms - nowMs + 1));
            if (until < wait)
                wait = until;
        }
        return wait;
    }

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
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            text = "base64:" + Convert.ToBase64String(payload);
        }
        return text.Length <= DeadLetterPayloadChars ? text : string.Concat(text.AsSpan(0, DeadLetterPayloadChars), "…");
    }
}
