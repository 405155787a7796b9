using System.ComponentModel.DataAnnotations;

namespace AppRuntime;

/// <summary>Which threads read the Redis sockets of the multiplexer that <see cref="RedisAppRuntimeBuilderExtensions.AddRedisQueues"/> registers.</summary>
public enum RedisSocketThreads
{
    /// <summary>The .NET thread pool (the default: AppRuntime is async end to end).</summary>
    ThreadPool = 0,

    /// <summary>StackExchange.Redis's dedicated threads (its own default).</summary>
    Shared = 1,
}

/// <summary>
/// Settings of the Redis backend: the configuration section <c>AppRuntime:Redis</c>, bound by the generated binder and validated
/// with every other section when the runtime starts. <see cref="KeyPrefix"/>, <see cref="PollInterval"/> and <see cref="Prefetch"/>
/// apply to every Redis queue of a <see cref="RedisQueueBackend"/>; <see cref="Configuration"/> and <see cref="SocketManager"/> to
/// the connection <see cref="RedisAppRuntimeBuilderExtensions.AddRedisQueues"/> registers.
/// </summary>
[ConfigSection(RedisAppRuntimeBuilderExtensions.SectionPath)]
public sealed partial class RedisQueueOptions
{
    /// <summary>
    /// The StackExchange.Redis connection string (key <c>AppRuntime:Redis:Configuration</c>, default <c>127.0.0.1:6379</c>).
    /// Ignored when you register your own <c>IConnectionMultiplexer</c>.
    /// </summary>
    [StringLength(256, MinimumLength = 1)]
    public string Configuration { get; set; } = RedisAppRuntimeBuilderExtensions.DefaultConfiguration;

    /// <summary>The first segment of every key (<c>&lt;prefix&gt;:{&lt;queue&gt;}:ready</c>, ...). Default <c>appruntime</c>.</summary>
    [RegularExpression("[^{}\\s]+")]
    public string KeyPrefix { get; set; } = "appruntime";

    /// <summary>
    /// The longest real-time wait between two looks at an idle queue. Consumers and blocked publishers are woken at once
    /// by pub/sub notifications; this interval bounds the delay when a notification is lost or a delayed task falls due.
    /// The idle consumers of one queue instance look together, once per interval (one of them fetches for all).
    /// Default 100 ms, at most 1 minute.
    /// </summary>
    [TimeRange("00:00:00.001", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// How many ready tasks a queue instance may lease ahead of its consumers, into a local buffer that later
    /// <c>ConsumeAsync</c> calls serve without a round trip. Default 0: a consume still leases one task for each consumer
    /// of the instance that is waiting at that moment, so nothing waits in the buffer. A buffered task holds a lease (it is
    /// in flight for other processes, and redelivered if this process dies); it is handed out with at least half a
    /// visibility timeout left (else renewed first), and given back to the queue, its delivery uncounted, when it has
    /// waited locally for a third of the visibility timeout (at most 5 s) or the queue is disposed. When the buffer has
    /// fallen to half, one background fetch tops it up (a read-ahead), so consumers do not stop for a round trip each time it
    /// runs dry. Raise it for many short tasks (a webhook or an event stream: 64 kept up with 17,000–21,000 tasks/s on the
    /// project's 2-core benchmark, where 0 kept up with about 8,000); keep it 0 when handlers run long or another process
    /// should get the next task. A queue's own <c>AppRuntime:Queues:&lt;name&gt;:Prefetch</c> (<see cref="QueueDefinition.Prefetch"/>)
    /// wins over this one.
    /// </summary>
    [Range(0, QueueDefinition.MaxPrefetch)]
    public int Prefetch { get; set; }

    /// <summary>
    /// The threads the registered multiplexer reads its sockets on (key <c>AppRuntime:Redis:SocketManager</c>): <c>ThreadPool</c>
    /// (default) or <c>Shared</c>.
    /// </summary>
    public RedisSocketThreads SocketManager { get; set; } = RedisSocketThreads.ThreadPool;

    /// <summary>Checks the settings and throws an <see cref="ArgumentException"/> naming the bad one (for options built in code).</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KeyPrefix) || KeyPrefix.Contains('{', StringComparison.Ordinal) || KeyPrefix.Contains('}', StringComparison.Ordinal))
            throw new ArgumentException($"Redis KeyPrefix must be non-empty and contain no '{{' or '}}' (was '{KeyPrefix}').");
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"Redis PollInterval must be in (0, 1 min] (was {PollInterval}).");
        if (Prefetch < 0 || Prefetch > QueueDefinition.MaxPrefetch)
            throw new ArgumentException($"Redis Prefetch must be in [0, {QueueDefinition.MaxPrefetch}] (was {Prefetch}).");
    }
}
