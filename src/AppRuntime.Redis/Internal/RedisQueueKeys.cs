using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>
/// The keys of one queue. Every key carries the queue name as a hash tag (<c>{name}</c>) so a queue lives in one
/// cluster slot and the Lua scripts may touch all of its keys.
/// </summary>
internal sealed class RedisQueueKeys
{
    public RedisQueueKeys(string prefix, string queue)
    {
        var root = $"{prefix}:{{{queue}}}";
        Root = root;
        Ready = root + ":ready";
        Delayed = root + ":delayed";
        Leases = root + ":leases";
        Dead = root + ":dead";
        Stats = root + ":stats";
        Consumers = root + ":consumers";
        Waiting = root + ":waiting";
        TaskPrefix = root + ":t:";
        Full = root + ":full";
        OncePrefix = root + ":once:";
        Checkpoints = root + ":checkpoints";
        LeaseSequence = root + ":lease-seq";
        Channel = RedisChannel.Literal(root + ":events");
    }

    /// <summary><c>prefix:{queue}</c>.</summary>
    public string Root { get; }

    /// <summary>
    /// STRING, set with an expiry by a publish that found the queue full: while it exists, every free announces the room. The
    /// scripts derive it from <see cref="TaskPrefix"/> (drop <c>:t:</c>, add <c>:full</c>); named here for tests and operators.
    /// </summary>
    public RedisKey Full { get; }

    /// <summary>LIST of task ids ready now: published at the left, consumed from the right.</summary>
    public RedisKey Ready { get; }

    /// <summary>ZSET task id → due time (ms): retry delays and not-before times.</summary>
    public RedisKey Delayed { get; }

    /// <summary>ZSET task id → lease expiry (ms): tasks in flight.</summary>
    public RedisKey Leases { get; }

    /// <summary>ZSET task id → sequence number (the <c>:seq</c> counter beside it), oldest first; the time is in the task hash.</summary>
    public RedisKey Dead { get; }

    /// <summary>HASH of counters: published, acked, nacked.</summary>
    public RedisKey Stats { get; }

    /// <summary>ZSET consumer id → last seen (ms).</summary>
    public RedisKey Consumers { get; }

    /// <summary>HASH queue instance → 1: instances that found the ready list empty since the last announced publish.</summary>
    public RedisKey Waiting { get; }

    /// <summary>Prefix of the per-task HASH keys (<c>prefix:{queue}:t:&lt;id&gt;</c>).</summary>
    public string TaskPrefix { get; }

    /// <summary>Prefix of the deduplication keys of <c>PublishOnceAsync</c> (<c>prefix:{queue}:once:&lt;id&gt;</c>, expiring with the window).</summary>
    public string OncePrefix { get; }

    /// <summary>HASH <c>&lt;source&gt;/&lt;name&gt;</c> → value: the checkpoints of the sources publishing into the queue.</summary>
    public RedisKey Checkpoints { get; }

    /// <summary>STRING counter: the fencing tokens of the source leases taken on this queue (each new holder gets the next).</summary>
    public RedisKey LeaseSequence { get; }

    /// <summary>STRING <c>holder|token|expiresMs</c>: the lease that makes the exclusive source reading <paramref name="resource"/> run on one instance.</summary>
    public RedisKey SourceLease(string resource) => Root + ":lease:" + resource;

    /// <summary>Pub/sub channel: 'r' a task became ready, 'f' + a count: a full queue has that much room again.</summary>
    public RedisChannel Channel { get; }
}
