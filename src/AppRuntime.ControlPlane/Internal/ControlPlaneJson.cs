using System.Text.Json.Serialization;

namespace AppRuntime.Internal;

/// <summary>The control plane's view of the runtime: the core status plus what the dashboard needs to know about the control plane.</summary>
internal sealed record StatusView(
    RuntimeState State,
    DateTimeOffset? StartedAt,
    string? FaultReason,
    DateTimeOffset ServerTime,
    IReadOnlyList<QueueStatus> Queues,
    IReadOnlyList<WorkerPoolSnapshot> Pools,
    IReadOnlyList<SourceSnapshot> Sources,
    ControlPlaneInfo ControlPlane);

/// <summary>
/// How the control plane is set up and who asks, so clients can tell which actions will be allowed: <see cref="AdminEnabled"/> is
/// true when this caller may run operator actions (not read-only, role operator or admin).
/// </summary>
internal sealed record ControlPlaneInfo(bool ReadOnly, bool AdminEnabled, bool IdentityRequired, string User, ControlRole Role, CallerKind Kind);

/// <summary>A health probe's answer: the status and nothing internal.</summary>
internal sealed record ProbeView(HealthStatus Status);

/// <summary>The caller as the dashboard and the login page see it, with an antiforgery token for its next state change.</summary>
internal sealed record SessionInfo(bool Authenticated, string? User, ControlRole Role, CallerKind Kind, bool ReadOnly, bool AnonymousAllowed,
    string? CsrfToken, DateTimeOffset? ExpiresAt, string? SessionId);

/// <summary>The body of POST /auth/login.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class LoginRequest
{
    public string? User { get; set; }

    public string? Password { get; set; }
}

/// <summary>The answer of a revoke.</summary>
internal sealed record RevokeResult(string Id, string User, bool Revoked);

/// <summary>The declared topology as data and as Mermaid text.</summary>
internal sealed record TopologyView(IReadOnlyList<ModuleTopology> Modules, string Mermaid);

/// <summary>One processed task, with the duration in milliseconds.</summary>
internal sealed record TraceView(string Queue, string TaskId, string? TraceId, int Attempt, string Outcome, double DurationMs, DateTimeOffset CompletedAt, string? Error);

/// <summary>The answer of retry and purge.</summary>
internal sealed record DeadLetterActionResult(string Queue, string Action, int Count);

/// <summary>The answer of releasing a dead instance's leases.</summary>
internal sealed record ReleaseLeasesResult(string Instance, int Released);

/// <summary>The answer of a stop request.</summary>
internal sealed record StopResult(bool Stopping, RuntimeState State);

/// <summary>The answer of a configuration reload.</summary>
internal sealed record ReloadResult(bool Applied, IReadOnlyList<ConfigError> Errors);

/// <summary>
/// An RFC 7807 problem; <see cref="Errors"/> lists configuration errors where there are some, <see cref="Backend"/> names the
/// backend of a 503 (an extension member).
/// </summary>
internal sealed record ProblemBody(string Type, string Title, int Status, string? Detail, string? Instance,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ConfigError>? Errors = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Backend = null);

/// <summary>The body of POST /api/pools/{name}/scale.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class ScaleRequest
{
    public int? Workers { get; set; }
}

/// <summary>The optional body of POST /api/deadletters/{queue}/retry|purge.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class IdsRequest
{
    public List<string?>? Ids { get; set; }
}

/// <summary>The body of actions that take no parameters: absent, or an empty object.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed class EmptyRequest;

/// <summary>Source-generated JSON for every type the control plane reads or writes: no reflection-based serialization.</summary>
[JsonSourceGenerationOptions(
    System.Text.Json.JsonSerializerDefaults.Web,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow,
    AllowTrailingCommas = false,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(StatusView))]
[JsonSerializable(typeof(IReadOnlyList<QueueStatus>))]
[JsonSerializable(typeof(IReadOnlyList<WorkerPoolSnapshot>))]
[JsonSerializable(typeof(IReadOnlyList<SourceSnapshot>))]
[JsonSerializable(typeof(WorkerPoolSnapshot))]
[JsonSerializable(typeof(SourceSnapshot))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(TopologyView))]
[JsonSerializable(typeof(IReadOnlyList<DeadLetter>))]
[JsonSerializable(typeof(IReadOnlyList<TraceView>))]
[JsonSerializable(typeof(DeadLetterActionResult))]
[JsonSerializable(typeof(StopResult))]
[JsonSerializable(typeof(ClusterView))]
[JsonSerializable(typeof(ReleaseLeasesResult))]
[JsonSerializable(typeof(ReloadResult))]
[JsonSerializable(typeof(ProblemBody))]
[JsonSerializable(typeof(ScaleRequest))]
[JsonSerializable(typeof(IdsRequest))]
[JsonSerializable(typeof(EmptyRequest))]
[JsonSerializable(typeof(DeadLetter))]
[JsonSerializable(typeof(ProbeView))]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(RevokeResult))]
[JsonSerializable(typeof(IReadOnlyList<SessionView>))]
[JsonSerializable(typeof(IReadOnlyList<AuditRecord>))]
internal sealed partial class ControlPlaneJsonContext : JsonSerializerContext;
