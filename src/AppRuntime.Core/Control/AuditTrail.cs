using Microsoft.Extensions.Logging;

namespace AppRuntime;

/// <summary>What a caller of the control plane may do; each role includes the ones below it.</summary>
public enum ControlRole
{
    /// <summary>Nothing (an anonymous caller where anonymous access is off).</summary>
    None = 0,

    /// <summary>Health, status, topology and counters: no payloads, no trace details.</summary>
    Viewer = 1,

    /// <summary>Also dead-letter payloads and traces; pause, resume and scale; retry and purge.</summary>
    Operator = 2,

    /// <summary>Also configuration reload, runtime stop, the audit trail and sessions.</summary>
    Admin = 3,
}

/// <summary>How a caller proved who it is.</summary>
public enum CallerKind
{
    /// <summary>Code in the process (a test, a CLI, another adapter) that passed no caller.</summary>
    Internal,

    /// <summary>Nobody: an anonymous request (viewer at most, loopback only).</summary>
    Anonymous,

    /// <summary>A user from configuration with a password and a session cookie.</summary>
    User,

    /// <summary>An API key from configuration.</summary>
    ApiKey,

    /// <summary>A JWT bearer token from an external identity provider.</summary>
    Jwt,

    /// <summary>The deprecated single admin token (<c>AppRuntime:ControlPlane:Token</c>).</summary>
    Token,
}

/// <summary>Who asks the control plane for something: recorded in the audit trail with every action.</summary>
/// <param name="Name">The user, API key or token subject; <c>anonymous</c> or <c>internal</c> otherwise.</param>
/// <param name="Role">The role the caller acted with.</param>
/// <param name="Kind">How the caller proved who it is.</param>
/// <param name="ClientAddress">The client's network address, when the caller came over the network.</param>
public sealed record ControlCaller(string Name, ControlRole Role, CallerKind Kind, string? ClientAddress = null)
{
    /// <summary>The caller recorded when code in the process passes none.</summary>
    public static ControlCaller Internal { get; } = new("internal", ControlRole.Admin, CallerKind.Internal);
}

/// <summary>How an audited action ended.</summary>
public enum AuditResult
{
    /// <summary>It was done.</summary>
    Succeeded,

    /// <summary>It was tried and failed: wrong credentials, an unknown name, a state that forbids it.</summary>
    Failed,

    /// <summary>The caller was not allowed to try: missing role, read-only mode, rate limit or lockout.</summary>
    Denied,
}

/// <summary>One entry of the audit trail.</summary>
/// <param name="Sequence">Increasing number of the entry within this process.</param>
/// <param name="Time">When it happened.</param>
/// <param name="Actor">Who (see <see cref="ControlCaller.Name"/>).</param>
/// <param name="ActorKind">How the actor proved who it is.</param>
/// <param name="Role">The role the actor acted with.</param>
/// <param name="Action">What was done, e.g. <c>source.pause</c> or <c>login</c> (see <see cref="AuditActions"/>).</param>
/// <param name="Target">What it was done to (a source, pool, queue, task id or session), if anything.</param>
/// <param name="Result">How it ended.</param>
/// <param name="ClientAddress">The client's network address, when known.</param>
/// <param name="Detail">Why it failed or was denied, or what it changed.</param>
public sealed record AuditRecord(
    long Sequence,
    DateTimeOffset Time,
    string Actor,
    CallerKind ActorKind,
    ControlRole Role,
    string Action,
    string? Target,
    AuditResult Result,
    string? ClientAddress,
    string? Detail);

/// <summary>The names of audited actions.</summary>
public static class AuditActions
{
    /// <summary>A sign-in with user name and password.</summary>
    public const string Login = "login";

    /// <summary>A sign-out.</summary>
    public const string Logout = "logout";

    /// <summary>A request with an API key or bearer token that was refused.</summary>
    public const string Authenticate = "authenticate";

    /// <summary>An admin revoked a session.</summary>
    public const string SessionRevoke = "session.revoke";

    /// <summary>Pause a source.</summary>
    public const string SourcePause = "source.pause";

    /// <summary>Resume a source.</summary>
    public const string SourceResume = "source.resume";

    /// <summary>Pause a worker pool.</summary>
    public const string PoolPause = "pool.pause";

    /// <summary>Resume a worker pool.</summary>
    public const string PoolResume = "pool.resume";

    /// <summary>Scale a worker pool.</summary>
    public const string PoolScale = "pool.scale";

    /// <summary>Retry dead letters.</summary>
    public const string DeadLettersRetry = "deadletters.retry";

    /// <summary>Purge dead letters.</summary>
    public const string DeadLettersPurge = "deadletters.purge";

    /// <summary>Read one dead letter's whole payload.</summary>
    public const string DeadLetterView = "deadletter.view";

    /// <summary>Reload the configuration.</summary>
    public const string ConfigReload = "config.reload";

    /// <summary>A dead instance's leases released (its tasks delivered again at once).</summary>
    public const string ClusterReleaseLeases = "cluster.release-leases";

    /// <summary>Stop the runtime.</summary>
    public const string RuntimeStop = "runtime.stop";
}

/// <summary>Receives every audit record as it is written (besides the in-memory ring and the log), e.g. to ship it elsewhere.</summary>
public interface IAuditSink
{
    /// <summary>Called once per record, on the thread that recorded it; must not throw and should not block.</summary>
    void Write(AuditRecord record);
}

/// <summary>
/// The audit trail of the control plane: who did what, with which role, to what, with which result, when and from where. Every
/// record goes to a bounded in-memory ring (<see cref="GetRecent"/>, the newest <see cref="Capacity"/>), to the log as a structured
/// event (category <c>AppRuntime.Audit</c>) and to every registered <see cref="IAuditSink"/>. <see cref="ControlPlaneService"/>
/// records the operator's actions of any caller; the HTTP control plane records sign-ins, sign-outs, refused credentials and
/// refused actions.
/// </summary>
public sealed partial class AuditTrail
{
    /// <summary>How many records the ring keeps unless told otherwise.</summary>
    public const int DefaultCapacity = 1000;

    private const int MaxTextLength = 200;

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IAuditSink[] _sinks;
    private readonly AuditRecord?[] _ring;
    private readonly Lock _lock = new();
    private long _sequence;

    /// <summary>Creates a trail that keeps the newest <paramref name="capacity"/> records.</summary>
    public AuditTrail(TimeProvider time, ILoggerFactory loggers, IEnumerable<IAuditSink>? sinks = null, int capacity = DefaultCapacity)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggers);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        _logger = loggers.CreateLogger("AppRuntime.Audit");
        _sinks = sinks?.ToArray() ?? [];
        _ring = new AuditRecord?[capacity];
    }

    /// <summary>How many records the ring keeps.</summary>
    public int Capacity => _ring.Length;

    /// <summary>Records that <paramref name="caller"/> did <paramref name="action"/> to <paramref name="target"/> with <paramref name="result"/>.</summary>
    public AuditRecord Record(ControlCaller caller, string action, string? target, AuditResult result, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentException.ThrowIfNullOrEmpty(action);
        AuditRecord record;
        lock (_lock)
        {
            var sequence = ++_sequence;
            record = new AuditRecord(sequence, _time.GetUtcNow(), Clean(caller.Name) ?? "", caller.Kind, caller.Role, action, Clean(target), result,
                Clean(caller.ClientAddress), Clean(detail));
            _ring[(int)((sequence - 1) % _ring.Length)] = record;
        }
        if (result == AuditResult.Succeeded)
            Log.Succeeded(_logger, record.Actor, record.ActorKind, record.Role, record.Action, record.Target, record.ClientAddress, record.Detail);
        else
            Log.NotSucceeded(_logger, record.Actor, record.ActorKind, record.Role, record.Action, record.Target, record.Result, record.ClientAddress, record.Detail);
        foreach (var sink in _sinks)
        {
            try
            {
                sink.Write(record);
            }
#pragma warning disable CA1031 // A failing sink must not fail the action it records; the record is still in the ring and the log.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.SinkFailed(_logger, ex, sink.GetType().Name);
            }
        }
        return record;
    }

    /// <summary>Records the outcome of a <see cref="ControlResult{T}"/>: succeeded, or failed with the status and reason.</summary>
    public AuditRecord Record<T>(ControlCaller caller, string action, string? target, ControlResult<T> result, string? detail = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Succeeded
            ? Record(caller, action, target, AuditResult.Succeeded, detail)
            : Record(caller, action, target, AuditResult.Failed, detail is null ? $"{result.Status}: {result.Error}" : $"{result.Status}: {result.Error} ({detail})");
    }

    /// <summary>Up to <paramref name="max"/> of the newest records, newest first.</summary>
    public IReadOnlyList<AuditRecord> GetRecent(int max = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 0);
        lock (_lock)
        {
            var count = (int)Math.Min(Math.Min(max, _ring.Length), _sequence);
            var result = new AuditRecord[count];
            for (var i = 0; i < count; i++)
                result[i] = _ring[(int)((_sequence - 1 - i) % _ring.Length)]!;
            return result;
        }
    }

    /// <summary>Text from a request (a user name typed at the login, a target) cut short and without control characters, so it cannot forge log lines.</summary>
    private static string? Clean(string? text)
    {
        if (text is null)
            return null;
        var span = text.AsSpan(0, Math.Min(text.Length, MaxTextLength));
        var clean = span.ContainsAnyInRange('\0', '\u001f') || span.Contains('\u007f')
            ? string.Create(span.Length, text, (chars, source) =>
            {
                for (var i = 0; i < chars.Length; i++)
                    chars[i] = char.IsControl(source[i]) ? '?' : source[i];
            })
            : span.ToString();
        return text.Length > MaxTextLength ? clean + "…" : clean;
    }

    private static partial class Log
    {
        [LoggerMessage(900, LogLevel.Information, "Audit: {Actor} ({ActorKind}, {Role}) {Action} {Target}: Succeeded (client {ClientAddress}) {Detail}")]
        public static partial void Succeeded(ILogger logger, string actor, CallerKind actorKind, ControlRole role, string action, string? target, string? clientAddress, string? detail);

        [LoggerMessage(901, LogLevel.Warning, "Audit: {Actor} ({ActorKind}, {Role}) {Action} {Target}: {Result} (client {ClientAddress}) {Detail}")]
        public static partial void NotSucceeded(ILogger logger, string actor, CallerKind actorKind, ControlRole role, string action, string? target, AuditResult result, string? clientAddress, string? detail);

        [LoggerMessage(902, LogLevel.Error, "An audit sink ({Sink}) failed; the record is kept in the audit ring and the log")]
        public static partial void SinkFailed(ILogger logger, Exception exception, string sink);
    }
}
