using System.Globalization;
using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>
/// What sources publishing into the queue keep in Redis: checkpoints (one HASH per queue, field <c>&lt;source&gt;/&lt;name&gt;</c>,
/// under the queue's hash tag, so they live in the queue's cluster slot) and whether a task id is still pending.
/// </summary>
internal sealed partial class RedisTaskQueue<T> : ISourceCheckpointStore, IPendingTaskLookup, ISourceLeaseStore, IFencedTaskQueue<T>, ILeaseOwnerQueue
{
    public async ValueTask<SourceLease?> TryAcquireSourceLeaseAsync(string resource, string holder, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisconnected();
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.AcquireLease, [_keys.SourceLease(resource), _keys.LeaseSequence],
            [holder, _time.GetUtcNow().ToUnixTimeMilliseconds(), DurationMs(duration)]).ConfigureAwait(false))!;
        if ((long)reply[0] != 1)
            return null;
        return new SourceLease(resource, holder, (long)reply[1], DateTimeOffset.FromUnixTimeMilliseconds((long)reply[2]));
    }

    public async ValueTask<SourceLease?> RenewSourceLeaseAsync(SourceLease lease, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisconnected();
        var until = (long)await Db.ScriptEvaluateAsync(LuaScripts.RenewLease, [_keys.SourceLease(lease.Resource)],
            [LeaseHolderValue(lease.Holder, lease.Token), _time.GetUtcNow().ToUnixTimeMilliseconds(), DurationMs(duration)]).ConfigureAwait(false);
        return until == 0 ? null : lease with { ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(until) };
    }

    public async ValueTask ReleaseSourceLeaseAsync(SourceLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        cancellationToken.ThrowIfCancellationRequested();
        await Db.ScriptEvaluateAsync(LuaScripts.ReleaseLease, [_keys.SourceLease(lease.Resource)], [LeaseHolderValue(lease.Holder, lease.Token)])
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<SourceLease?> GetSourceLeaseAsync(string resource, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(resource);
        cancellationToken.ThrowIfCancellationRequested();
        var value = (string?)await Db.StringGetAsync(_keys.SourceLease(resource)).ConfigureAwait(false);
        if (value is null)
            return null;
        // holder|token|expiresMs; the holder may itself contain '|' only in theory (instance ids are host:pid:random).
        var last = value.LastIndexOf('|');
        var middle = last > 0 ? value.LastIndexOf('|', last - 1) : -1;
        if (middle <= 0
            || !long.TryParse(value.AsSpan(middle + 1, last - middle - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var token)
            || !long.TryParse(value.AsSpan(last + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
            return null;
        return new SourceLease(resource, value[..middle], token, DateTimeOffset.FromUnixTimeMilliseconds(expires));
    }

    public ValueTask<bool> PublishFencedAsync(TaskEnvelope<T> envelope, TimeSpan deduplicationWindow, SourceLease fence, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fence);
        if (deduplicationWindow < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(deduplicationWindow), deduplicationWindow, "The deduplication window must not be negative.");
        return PublishCoreAsync(envelope, deduplicationWindow, fence, cancellationToken);
    }

    /// <summary>The owner id every lease token of this queue instance starts with (before the first ':').</summary>
    public string LeaseOwner => _tokenPrefix[..^1];

    public async ValueTask<IReadOnlyDictionary<string, int>> CountLeasesByOwnerAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var reply = (RedisResult[])(await AvailableAsync(() => Db.ScriptEvaluateAsync(LuaScripts.CountLeaseOwners, [_keys.Leases], [_keys.TaskPrefix]))
            .WaitAsync(cancellationToken).ConfigureAwait(false))!;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < reply.Length; i += 2)
            counts[(string?)reply[i] ?? "?"] = (int)(long)reply[i + 1];
        return counts;
    }

    public async ValueTask<int> ExpireLeasesOfAsync(string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        cancellationToken.ThrowIfCancellationRequested();
        var n = (long)await AvailableAsync(() => Db.ScriptEvaluateAsync(LuaScripts.ExpireOwnerLeases, [_keys.Leases], [_keys.TaskPrefix, owner]))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (n > 0)
            await Db.PublishAsync(_keys.Channel, "r").ConfigureAwait(false); // wake parked consumers: their next look reclaims the leases
        return (int)n;
    }

    /// <summary>
    /// A lease call while the connection is down fails at once (it would otherwise wait in the client's backlog for its whole
    /// timeout), so the leader tries again soon and keeps its lease through an outage shorter than the lease.
    /// </summary>
    private void ThrowIfDisconnected()
    {
        if (!_connection.IsConnected)
            throw new QueueBackendUnavailableException(Name, Backend, $"not connected to Redis at {Endpoints()}");
    }

    private static string LeaseHolderValue(string holder, long token) => string.Concat(holder, "|", token.ToString(CultureInfo.InvariantCulture));

    private static long DurationMs(TimeSpan duration) =>
        duration > TimeSpan.Zero ? Math.Max(1L, (long)Math.Ceiling(duration.TotalMilliseconds)) : throw new ArgumentOutOfRangeException(nameof(duration), duration, "A lease duration must be positive.");

    public async ValueTask<string?> GetCheckpointAsync(string source, string name, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var value = await Db.HashGetAsync(_keys.Checkpoints, CheckpointField(source, name)).ConfigureAwait(false);
        return value.IsNull ? null : (string?)value;
    }

    public async ValueTask<bool> TrySetCheckpointAsync(string source, string name, string? expected, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [CheckpointField(source, name), expected ?? string.Empty, value, expected is null ? "0" : "1"];
        var result = await Db.ScriptEvaluateAsync(LuaScripts.SetCheckpoint, [_keys.Checkpoints], args).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<bool> IsPendingAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        cancellationToken.ThrowIfCancellationRequested();
        var result = await Db.ScriptEvaluateAsync(LuaScripts.IsPending, [_keys.Dead], [_keys.TaskPrefix, taskId]).ConfigureAwait(false);
        return (long)result == 1;
    }

    /// <summary>Every id in one script call (the runner's sweep asks about hundreds at a time).</summary>
    public async ValueTask<bool[]> ArePendingAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(taskIds);
        cancellationToken.ThrowIfCancellationRequested();
        if (taskIds.Count == 0)
            return [];
        var args = new RedisValue[taskIds.Count + 1];
        args[0] = _keys.TaskPrefix;
        for (var i = 0; i < taskIds.Count; i++)
            args[i + 1] = taskIds[i];
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(LuaScripts.ArePending, [_keys.Dead], args).ConfigureAwait(false))!;
        var pending = new bool[taskIds.Count];
        for (var i = 0; i < pending.Length; i++)
            pending[i] = (long)reply[i] == 1;
        return pending;
    }

    private static string CheckpointField(string source, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return source + "/" + name;
    }
}
