using System.Globalization;
using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// Collects health from contributors and aggregates it into liveness, readiness and a detailed status (seed: HealthRegistry).
/// Built-in contributors: runtime state, worker faults, queue backpressure, sources and configuration.
/// </summary>
public sealed class HealthRegistry
{
    private readonly List<IHealthContributor> _contributors = [];
    private readonly Func<IEnumerable<IHealthContributor>> _late;
    private bool _lateAdded;

    internal HealthRegistry(IEnumerable<IHealthContributor> builtIn, Func<IEnumerable<IHealthContributor>> late)
    {
        _contributors.AddRange(builtIn);
        _late = late;
    }

    /// <summary>Creates an empty registry (for hosts that compose health themselves).</summary>
    public HealthRegistry() : this([], () => [])
    {
    }

    /// <summary>Adds a contributor.</summary>
    public void Add(IHealthContributor contributor)
    {
        ArgumentNullException.ThrowIfNull(contributor);
        lock (_contributors)
            _contributors.Add(contributor);
    }

    /// <summary>The registered contributors.</summary>
    public IReadOnlyList<IHealthContributor> Contributors
    {
        get
        {
            EnsureLate();
            lock (_contributors)
                return [.. _contributors];
        }
    }

    /// <summary>Liveness: contributors scoped to liveness.</summary>
    public Task<HealthReport> CheckLivenessAsync(CancellationToken cancellationToken = default) => CheckAsync(HealthScope.Liveness, cancellationToken);

    /// <summary>Readiness: contributors scoped to readiness.</summary>
    public Task<HealthReport> CheckReadinessAsync(CancellationToken cancellationToken = default) => CheckAsync(HealthScope.Readiness, cancellationToken);

    /// <summary>Checks contributors whose scope includes <paramref name="scope"/> (<see cref="HealthScope.None"/>: all of them, the detailed view).</summary>
    public async Task<HealthReport> CheckAsync(HealthScope scope = HealthScope.None, CancellationToken cancellationToken = default)
    {
        var entries = new List<HealthEntry>();
        foreach (var c in Contributors)
        {
            if (scope != HealthScope.None && (c.Scope & scope) == 0)
                continue;
            HealthResult result;
            try
            {
                result = await c.CheckAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // A contributor that throws is reported unhealthy with its error, never crashes the probe.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                result = HealthResult.Unhealthy($"health check threw {ex.GetType().Name}: {ex.Message}");
            }
            entries.Add(new HealthEntry(c.Name, c.Scope, Redacted(result)));
        }
        var status = entries.Count == 0 ? HealthStatus.Healthy : entries.Max(e => e.Result.Status);
        return new HealthReport(status, entries);
    }

    /// <summary>
    /// The result with every secret in its description and data masked (<see cref="ConfigRedaction.RedactValue"/>): reports are
    /// served without a token (<c>/health</c>), and a contributor may quote a connection string or a provider's error.
    /// </summary>
    private static HealthResult Redacted(HealthResult result)
    {
        var description = result.Description is null ? null : ConfigRedaction.RedactValue(result.Description);
        Dictionary<string, string>? data = null;
        if (result.Data is { Count: > 0 })
        {
            foreach (var (key, value) in result.Data)
            {
                var shown = ConfigRedaction.IsSecretName(key) ? ConfigRedaction.Mask : ConfigRedaction.RedactValue(value);
                if (data is null && ReferenceEquals(shown, value))
                    continue;
                data ??= new Dictionary<string, string>(result.Data, StringComparer.Ordinal);
                data[key] = shown;
            }
        }
        return ReferenceEquals(description, result.Description) && data is null
            ? result
            : result with { Description = description, Data = data ?? result.Data };
    }

    private void EnsureLate()
    {
        lock (_contributors)
        {
            if (_lateAdded)
                return;
            _lateAdded = true;
            _contributors.AddRange(_late());
        }
    }
}

internal sealed class DelegateHealthContributor(string name, HealthScope scope, Func<CancellationToken, ValueTask<HealthResult>> check) : IHealthContributor
{
    public string Name { get; } = name;

    public HealthScope Scope { get; } = scope;

    public ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken) => check(cancellationToken);
}

/// <summary>The built-in contributors.</summary>
internal static class BuiltInHealth
{
    public static IEnumerable<IHealthContributor> Create(Func<RuntimeManager> runtime, WorkerSupervisor supervisor, QueueManager queues, ConfigurationManager config, Func<IReadOnlyList<SourceSnapshot>> sources)
    {
        yield return new DelegateHealthContributor("runtime:liveness", HealthScope.Liveness, _ =>
        {
            var r = runtime();
            return ValueTask.FromResult(r.State == RuntimeState.Faulted
                ? HealthResult.Unhealthy($"runtime faulted: {r.FaultReason}")
                : HealthResult.Healthy(r.State.ToString()));
        });

        yield return new DelegateHealthContributor("runtime:readiness", HealthScope.Readiness, _ =>
        {
            var r = runtime();
            return ValueTask.FromResult(r.State == RuntimeState.Running
                ? HealthResult.Healthy("running")
                : HealthResult.Unhealthy($"runtime is {r.State}" + (r.FaultReason is null ? "" : $": {r.FaultReason}")));
        });

        yield return new DelegateHealthContributor("workers", HealthScope.Readiness, _ =>
        {
            var faulted = supervisor.GetSnapshots()
                .SelectMany(p => p.Workers.Where(w => w.State == WorkerState.Faulted).Select(w => (p.Queue, w)))
                .ToList();
            if (faulted.Count == 0)
                return ValueTask.FromResult(HealthResult.Healthy());
            var data = faulted.ToDictionary(f => $"{f.Queue}#{f.w.Id}", f => f.w.LastError ?? "faulted", StringComparer.Ordinal);
            return ValueTask.FromResult(HealthResult.Degraded($"{faulted.Count} worker(s) faulted and restarting", data));
        });

        yield return new DelegateHealthContributor("queues", HealthScope.Readiness, async ct =>
        {
            var data = new Dictionary<string, string>(StringComparer.Ordinal);
            var above = new List<string>();
            var unavailable = new List<string>();
            foreach (var q in queues.All)
            {
                QueueStats stats;
                try
                {
                    stats = await q.GetStatsAsync(ct).ConfigureAwait(false);
                }
                catch (QueueBackendUnavailableException ex)
                {
                    data[q.Name] = "unavailable";
                    unavailable.Add(ex.Message);
                    continue;
                }
                var watermark = (long)Math.Floor(q.Definition.Capacity * q.Definition.HighWatermark);
                data[q.Name] = string.Create(CultureInfo.InvariantCulture, $"{stats.Outstanding}/{stats.Capacity}");
                if (stats.Capacity > 0 && stats.Outstanding >= watermark)
                    above.Add(q.Name);
            }
            if (unavailable.Count > 0)
                return HealthResult.Unhealthy(string.Join("; ", unavailable), data);
            return above.Count == 0
                ? HealthResult.Healthy(null, data)
                : HealthResult.Degraded($"backpressure: queue(s) {string.Join(", ", above)} at or above the high watermark", data);
        });

        yield return new DelegateHealthContributor("sources", HealthScope.Readiness, _ =>
        {
            var failing = sources().Where(s => s.LastError is not null).ToList();
            return ValueTask.FromResult(failing.Count == 0
                ? HealthResult.Healthy()
                : HealthResult.Degraded($"source(s) failing: {string.Join(", ", failing.Select(s => s.Name))}",
                    failing.ToDictionary(s => s.Name, s => s.LastError!, StringComparer.Ordinal)));
        });

        yield return new DelegateHealthContributor("configuration", HealthScope.Readiness, _ =>
        {
            var errors = config.LastReloadErrors;
            return ValueTask.FromResult(errors.Count == 0
                ? HealthResult.Healthy()
                : HealthResult.Degraded($"the last configuration reload was refused; the previous configuration stays in effect: {string.Join("; ", errors)}"));
        });
    }
}
