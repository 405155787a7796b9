using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace AppRuntime;

/// <summary>What the runtime does once it has started.</summary>
public enum RunMode
{
    /// <summary>Run until the host is stopped (a service).</summary>
    Service = 0,

    /// <summary>
    /// Run until every source has looked at all its input once and everything published has settled, then stop
    /// (<c>--once</c>; see <see cref="AppRuntimeConsole.TranslateArgs"/>).
    /// </summary>
    UntilDrained = 1,
}

/// <summary>
/// Platform settings of the runtime: the configuration section <c>AppRuntime</c>, bound and validated by the generated binder
/// together with every other section when the runtime starts. Values set in code (<c>AddAppRuntime(o =&gt; ...)</c>) are applied
/// after binding and win.
/// </summary>
[ConfigSection(SectionPath)]
public sealed partial class AppRuntimeOptions
{
    /// <summary>The configuration section path, <c>AppRuntime</c>.</summary>
    public const string SectionPath = "AppRuntime";

    /// <summary>
    /// How long, on stop, the runtime waits for queues to drain before it stops the workers. Key <c>AppRuntime:DrainTimeout</c>.
    /// A queue of this instance's own (in memory) drains when nothing is ready or in flight; a queue shared with other instances
    /// (Redis) stops leasing and waits only for this instance's tasks: in its workers' hands and leased ahead (prefetched).
    /// </summary>
    [TimeRange("00:00:00", "1.00:00:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long workers may keep running the task in hand once they stop; after it, handlers are cancelled and their tasks go back to the queue. Key <c>AppRuntime:ShutdownTimeout</c>.</summary>
    [TimeRange("00:00:00", "1.00:00:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The backend of queues that neither pin one nor have <c>AppRuntime:Queues:&lt;name&gt;:Backend</c>. Key <c>AppRuntime:DefaultBackend</c>.</summary>
    [StringLength(256, MinimumLength = 1)]
    public string DefaultBackend { get; set; } = "InMemory";

    /// <summary>How often a source waiting for its queue to fall below the high watermark checks again. Key <c>AppRuntime:BackpressureCheckInterval</c>.</summary>
    [TimeRange("00:00:00.001", "00:01:00")]
    public TimeSpan BackpressureCheckInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The longest failure reason kept, in characters (key <c>AppRuntime:MaxReasonLength</c>, default 1024): the reason a task is
    /// retried or dead-lettered with (stored with the dead letter, shown in recent traces and logged). A longer one is cut and says
    /// so: <c>… [truncated: 1900000 characters in all]</c>.
    /// </summary>
    [Range(TextLimits.MinimumLength, 1024 * 1024)]
    public int MaxReasonLength { get; set; } = TextLimits.DefaultMaxReasonLength;

    /// <summary>
    /// The longest console log message, in characters (key <c>AppRuntime:MaxLogMessageLength</c>, default 8192); an exception's
    /// text is cut at the same length. The console formatter AppRuntime registers also escapes control characters (see
    /// docs/observability.md).
    /// </summary>
    [Range(TextLimits.MinimumLength, 1024 * 1024)]
    public int MaxLogMessageLength { get; set; } = DefaultMaxLogMessageLength;

    /// <summary>The default of <see cref="MaxLogMessageLength"/>: 8192 characters.</summary>
    public const int DefaultMaxLogMessageLength = 8192;

    /// <summary>
    /// How long a control-plane read or admin action waits for a queue's backend (key <c>AppRuntime:BackendTimeout</c>, default
    /// 2 seconds). A backend that is down answers at once; one that does not answer in time is reported unavailable (HTTP 503 with
    /// <c>Retry-After</c>) rather than holding the request.
    /// </summary>
    [TimeRange("00:00:00.100", "00:01:00")]
    public TimeSpan BackendTimeout { get; set; } = DefaultBackendTimeout;

    /// <summary>The default of <see cref="BackendTimeout"/>: 2 seconds.</summary>
    public static readonly TimeSpan DefaultBackendTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Run as a service, or until drained (<c>--once</c>). Key <c>AppRuntime:RunMode</c>.</summary>
    public RunMode RunMode { get; set; } = RunMode.Service;

    /// <summary>Per-queue settings, by queue name: <c>AppRuntime:Queues:&lt;name&gt;:*</c>.</summary>
    public Dictionary<string, QueueOptions> Queues { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per-pool settings, by queue name: <c>AppRuntime:Pools:&lt;queue&gt;:*</c>.</summary>
    public Dictionary<string, PoolOptions> Pools { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Per-source settings, by source name: <c>AppRuntime:Sources:&lt;name&gt;:*</c>. A name no source has is a start error. The
    /// keys below a name belong to the kind of source (a scheduled source reads <c>Cron</c>, <c>TimeZone</c>, ...: see
    /// docs/scheduling.md) and to the runtime's per-source settings (<see cref="SourceOptions"/>).
    /// </summary>
    public Dictionary<string, SourceOptions> Sources { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Heartbeats and the cluster view: <c>AppRuntime:Cluster:*</c>.</summary>
    public ClusterOptions Cluster { get; set; } = new();
}

/// <summary>Settings of one queue, <c>AppRuntime:Queues:&lt;name&gt;</c>.</summary>
public sealed partial class QueueOptions
{
    /// <summary>The backend (<c>InMemory</c>, <c>Redis</c>, ...) unless the declaration pins one.</summary>
    public string? Backend { get; set; }

    /// <summary>
    /// How long a leased task stays invisible before it is delivered again, unless renewed (workers renew it while their
    /// handler runs), from 5 s to 12 h. Overrides the declaration's <c>VisibilityTimeoutSeconds</c> (default 30 s). A short
    /// value brings a crashed instance's tasks back sooner; a process paused longer than it (a long GC pause, SIGSTOP) may
    /// see its task run a second time elsewhere.
    /// </summary>
    [TimeRange(MinVisibilityTimeout, MaxVisibilityTimeout)]
    public TimeSpan? VisibilityTimeout { get; set; }

    /// <summary>
    /// How many ready tasks a queue instance may lease ahead of its consumers (Redis), from 0 to 1000: overrides
    /// <c>AppRuntime:Redis:Prefetch</c> for this queue. Raise it for a queue of many short tasks (a webhook's), keep it 0 where
    /// handlers run long or another instance should get the next task. See docs/adapters/redis.md.
    /// </summary>
    [Range(0, QueueDefinition.MaxPrefetch)]
    public int? Prefetch { get; set; }

    /// <summary>The smallest <see cref="VisibilityTimeout"/>, 5 s.</summary>
    internal const string MinVisibilityTimeout = "00:00:05";

    /// <summary>The largest <see cref="VisibilityTimeout"/>, 12 h.</summary>
    internal const string MaxVisibilityTimeout = "12:00:00";
}

/// <summary>Settings of one worker pool, <c>AppRuntime:Pools:&lt;queue&gt;</c>.</summary>
public sealed partial class PoolOptions
{
    /// <summary>
    /// Concurrent workers. The declaration's <c>Workers</c> is the default. A pool whose declaration names a
    /// <c>WorkersConfigKey</c> reads that key instead (and this one must stay unset).
    /// </summary>
    [Range(1, PoolLimits.MaxWorkers)]
    public int? Workers { get; set; }

    /// <summary>
    /// How many settlements (an ack, nack or dead letter, then the outcome observers) one worker may have in flight while it takes
    /// its next tasks; one more makes it wait for the oldest. Default 32; 0 settles each task before the next. Every settlement that
    /// waits counts: a backend's round trip (a Redis ack) or an outcome observer's own I/O (the IMAP source's <c>\Seen</c> STORE,
    /// even on the in-memory queue); one that completes at once never does. Under load the acks (or STOREs) of a worker's tasks then
    /// share round trips; the cost is that a process killed mid-way handles its handled but unsettled tasks again: up to this many
    /// per worker, plus the one whose settlement made the worker wait.
    /// </summary>
    [Range(0, PoolLimits.MaxSettling)]
    public int? MaxSettling { get; set; }
}

/// <summary>
/// Settings of one source, <c>AppRuntime:Sources:&lt;name&gt;</c>, that the runtime reads for every kind of source. A misspelt
/// source name is reported; the keys a source's kind reads (a scheduled source's <c>Cron</c>, <c>TimeZone</c>, ..., bound and
/// checked by that kind) sit beside these.
/// </summary>
public sealed partial class SourceOptions
{
    /// <summary>
    /// True: one instance at a time runs the source, the others stand by (leadership through a lease in the queue's backend; without
    /// a shared backend every instance leads its own). False: every instance runs it. Unset: the declaration decides
    /// (<c>[TaskSource(Exclusive = true)]</c>, and sources that implement <see cref="IExclusiveTaskSource"/> such as the IMAP sources).
    /// </summary>
    public bool? Exclusive { get; set; }

    /// <summary>
    /// How long the leader's lease lasts unless renewed, from 2 s to 5 min (default 10 s). The leader renews it every third of it;
    /// after a leader is killed another instance takes over within this time plus its standby check (at most 1 s). A leader paused
    /// longer than this (a long garbage collection, SIGSTOP) loses the lease; its publishes are then refused (fencing).
    /// </summary>
    [TimeRange(MinLeaseDuration, MaxLeaseDuration)]
    public TimeSpan? LeaseDuration { get; set; }

    /// <summary>The smallest <see cref="LeaseDuration"/>, 2 s.</summary>
    internal const string MinLeaseDuration = "00:00:02";

    /// <summary>The largest <see cref="LeaseDuration"/>, 5 min.</summary>
    internal const string MaxLeaseDuration = "00:05:00";
}

/// <summary>How the instances of an application announce themselves, <c>AppRuntime:Cluster</c> (used when a cluster registry is registered, as the Redis adapter does).</summary>
public sealed partial class ClusterOptions
{
    /// <summary>How often an instance writes its heartbeat (its id, host, pid, version, the sources it leads, its pools). Default 2 s.</summary>
    [TimeRange("00:00:00.100", "00:01:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An instance whose last heartbeat is older than this is shown dead (default 10 s; at least twice the heartbeat interval).</summary>
    [TimeRange("00:00:01", "01:00:00")]
    public TimeSpan InstanceTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A dead instance is removed from the cluster view this long after its last heartbeat (default 10 min).</summary>
    [TimeRange("00:00:01", "7.00:00:00")]
    public TimeSpan RemoveAfter { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>Limits shared by the pool settings and the control plane.</summary>
public static class PoolLimits
{
    /// <summary>The most workers one pool may have.</summary>
    public const int MaxWorkers = 1024;

    /// <summary>The most settlements one worker may have in flight (<c>AppRuntime:Pools:&lt;queue&gt;:MaxSettling</c>).</summary>
    public const int MaxSettling = 1024;

    /// <summary>The settlements one worker may have in flight when <c>AppRuntime:Pools:&lt;queue&gt;:MaxSettling</c> is not set.</summary>
    public const int DefaultMaxSettling = 32;
}
