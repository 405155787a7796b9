namespace AppRuntime;

/// <summary>Health of a component, worst last.</summary>
public enum HealthStatus
{
    /// <summary>Working.</summary>
    Healthy = 0,

    /// <summary>Working with a problem an operator should see.</summary>
    Degraded = 1,

    /// <summary>Not working.</summary>
    Unhealthy = 2,
}

/// <summary>Which views a contributor counts in.</summary>
[Flags]
public enum HealthScope
{
    /// <summary>Only the detailed status.</summary>
    None = 0,

    /// <summary>Liveness: should the process be restarted?</summary>
    Liveness = 1,

    /// <summary>Readiness: should it receive work?</summary>
    Readiness = 2,

    /// <summary>Both views.</summary>
    All = Liveness | Readiness,
}

/// <summary>The result of one health check.</summary>
/// <param name="Status">The status.</param>
/// <param name="Description">A human-readable reason.</param>
/// <param name="Data">Structured details.</param>
public sealed record HealthResult(HealthStatus Status, string? Description = null, IReadOnlyDictionary<string, string>? Data = null)
{
    /// <summary>A healthy result.</summary>
    public static HealthResult Healthy(string? description = null, IReadOnlyDictionary<string, string>? data = null) => new(HealthStatus.Healthy, description, data);

    /// <summary>A degraded result.</summary>
    public static HealthResult Degraded(string description, IReadOnlyDictionary<string, string>? data = null) => new(HealthStatus.Degraded, description, data);

    /// <summary>An unhealthy result.</summary>
    public static HealthResult Unhealthy(string description, IReadOnlyDictionary<string, string>? data = null) => new(HealthStatus.Unhealthy, description, data);
}

/// <summary>Contributes to the runtime's health (seed: HealthContributor).</summary>
public interface IHealthContributor
{
    /// <summary>A unique name, e.g. <c>queue:inbox</c>.</summary>
    string Name { get; }

    /// <summary>Which views this contributor counts in.</summary>
    HealthScope Scope { get; }

    /// <summary>Checks health now.</summary>
    ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>One contributor's entry in a health report.</summary>
/// <param name="Name">Contributor name.</param>
/// <param name="Scope">Its scope.</param>
/// <param name="Result">Its result.</param>
public sealed record HealthEntry(string Name, HealthScope Scope, HealthResult Result);

/// <summary>An aggregated health view.</summary>
/// <param name="Status">The worst status among the entries.</param>
/// <param name="Entries">Each contributor's result.</param>
public sealed record HealthReport(HealthStatus Status, IReadOnlyList<HealthEntry> Entries);
