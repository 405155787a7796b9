using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace AppRuntime.Internal;

/// <summary>One queue as the runtime will create it: its declaration with the pool's settings and its configured visibility timeout merged in, and its backend.</summary>
internal sealed record QueuePlan(QueueRegistration Registration, QueueDefinition Definition, ITaskQueueBackend Backend);

/// <summary>One worker pool as the runtime will start it: the declaration with its worker count from configuration.</summary>
internal sealed record PoolPlan(QueueRegistration Queue, WorkerPoolDefinition Definition, HandlerRegistration Handler, IReadOnlyList<ObserverRegistration> Observers);

/// <summary>
/// What the runtime starts, computed once from the registry and the bound platform settings, before anything runs. Nothing in
/// the registry is changed: the plan is the only place where declarations and configuration meet.
/// </summary>
internal sealed record RuntimePlan(AppRuntimeOptions Options, IReadOnlyList<QueuePlan> Queues, IReadOnlyList<PoolPlan> Pools, IReadOnlyList<SourceRegistration> Sources)
{
    /// <summary>
    /// Builds the plan and adds every problem to <paramref name="errors"/> with its key path: unknown backends, settings for queues or
    /// pools nobody declared, worker counts (from <c>AppRuntime:Pools:&lt;queue&gt;:Workers</c> or a pool's <c>WorkersConfigKey</c>).
    /// Returns null when there were problems.
    /// </summary>
    public static RuntimePlan? Build(RuntimeRegistry registry, AppRuntimeOptions options, IEnumerable<ITaskQueueBackend> backends,
        IConfiguration configuration, ConfigErrors errors)
    {
        var before = errors.Items.Count;
        var byName = new Dictionary<string, ITaskQueueBackend>(StringComparer.OrdinalIgnoreCase);
        foreach (var b in backends)
            byName[b.Name] = b;

        CheckNamesDeclared(options.Queues.Keys, registry.Queues.Keys, "Queues", "queue", errors);
        CheckNamesDeclared(options.Pools.Keys, registry.Pools.Keys, "Pools", "worker pool", errors);
        CheckNamesDeclared(options.Sources.Keys, registry.Sources.Select(s => s.Definition.Name).Distinct(StringComparer.Ordinal), "Sources", "source", errors);

        var queues = new List<QueuePlan>();
        foreach (var (name, reg) in registry.Queues.OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            var key = $"{AppRuntimeOptions.SectionPath}:Queues:{name}:Backend";
            var configured = Lookup(options.Queues, name)?.Backend;
            var backendName = reg.Definition.Backend ?? configured ?? options.DefaultBackend;
            var where = reg.Definition.Backend is not null ? $"queue '{name}'" : configured is not null ? key : $"{AppRuntimeOptions.SectionPath}:DefaultBackend";
            if (!byName.TryGetValue(backendName, out var backend))
            {
                errors.Add(where, $"unknown queue backend '{backendName}'; registered backends: {string.Join(", ", byName.Keys.Order(StringComparer.Ordinal))}" +
                    (backendName.Equals("Redis", StringComparison.OrdinalIgnoreCase) ? " (add the Redis adapter with AddRedisQueues())" : ""));
                continue;
            }
            if (backend.IsDurable && !reg.HasSerializer)
            {
                errors.Add(where, $"queue '{name}' uses the durable backend '{backend.Name}' but has no task serializer for {reg.Definition.TaskType}");
                continue;
            }
            var definition = registry.Pools.TryGetValue(name, out var pool) && pool.MaxAttempts is { } max
                ? reg.Definition with { MaxAttempts = max }
                : reg.Definition;
            // AppRuntime:Queues:<name>:VisibilityTimeout (range-checked by the binder) wins over the declaration.
            var queueOptions = Lookup(options.Queues, name);
            if (queueOptions?.VisibilityTimeout is { } visibility)
                definition = definition with { VisibilityTimeout = visibility };
            // AppRuntime:Queues:<name>:Prefetch (range-checked by the binder): for backends that lease ahead (Redis).
            if (queueOptions?.Prefetch is { } prefetch)
                definition = definition with { Prefetch = prefetch };
            queues.Add(new QueuePlan(reg, definition, backend));
        }

        var pools = new List<PoolPlan>();
        foreach (var (queue, pool) in registry.Pools.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var workers = Workers(pool, Lookup(options.Pools, queue), configuration, errors);
            if (registry.Queues.TryGetValue(queue, out var reg) && registry.Handlers.TryGetValue(queue, out var handler))
                pools.Add(new PoolPlan(reg, pool with { Workers = workers }, handler, [.. registry.Observers.Where(o => o.Queue == queue)]));
        }

        return errors.Items.Count == before ? new RuntimePlan(options, queues, pools, [.. registry.Sources]) : null;
    }

    /// <summary>The pool's worker count: its own key when it names one, else the platform key, else the declared default.</summary>
    private static int Workers(WorkerPoolDefinition pool, PoolOptions? configured, IConfiguration configuration, ConfigErrors errors)
    {
        var platformKey = $"{AppRuntimeOptions.SectionPath}:Pools:{pool.Queue}:Workers";
        if (pool.WorkersConfigKey is not { } key)
            return configured?.Workers ?? pool.Workers;
        if (configured?.Workers is not null)
            errors.Add(platformKey, $"worker pool '{pool.Queue}' takes its worker count from {key} (its WorkersConfigKey); set that key and remove this one");
        var text = configuration[key];
        if (text is null)
            return pool.Workers;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var workers) && workers is >= 1 and <= PoolLimits.MaxWorkers)
            return workers;
        errors.Add(key, $"'{text}' is not a worker count from 1 to {PoolLimits.MaxWorkers} (the workers of pool '{pool.Queue}').");
        return pool.Workers;
    }

    /// <summary>Settings under <c>AppRuntime:&lt;section&gt;:&lt;name&gt;</c> for a name nobody declared are a mistake (a typo, usually).</summary>
    private static void CheckNamesDeclared(IEnumerable<string> configured, IEnumerable<string> declared, string section, string kind, ConfigErrors errors)
    {
        var names = declared.ToList();
        foreach (var name in configured)
        {
            if (names.Contains(name, StringComparer.Ordinal))
                continue;
            var suggestion = NameSuggestions.Closest(name, names);
            errors.Add($"{AppRuntimeOptions.SectionPath}:{section}:{name}",
                $"there is no {kind} named '{name}'" + (suggestion is null
                    ? names.Count == 0 ? "" : $"; declared: {string.Join(", ", names.Order(StringComparer.Ordinal))}"
                    : $"; did you mean '{suggestion}'?"));
        }
    }

    private static TValue? Lookup<TValue>(Dictionary<string, TValue> entries, string name) where TValue : class =>
        entries.TryGetValue(name, out var exact) ? exact : null;
}

/// <summary>"Did you mean" for names: the closest declared name, case-insensitively, within a small edit distance.</summary>
internal static class NameSuggestions
{
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
                (best, bestDistance) = (candidate, d);
        }
        return bestDistance <= Math.Max(1, name.Length / 3) ? best : null;
    }

    /// <summary>Edit distance counting a swap of two neighbours as one edit.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
