using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// Owns the worker pools (seed: WorkerSupervisor): one pool per queue with N concurrent workers, restart of faulted
/// worker loops with backoff, per-worker state, and pause/resume/scale at run time.
/// </summary>
public sealed class WorkerSupervisor
{
    private readonly Dictionary<string, IRuntimePool> _pools = new(StringComparer.Ordinal);

    internal WorkerSupervisor()
    {
    }

    /// <summary>The pools, sorted by queue name.</summary>
    public IReadOnlyList<IWorkerPool> Pools
    {
        get
        {
            lock (_pools)
                return [.. _pools.Values.OrderBy(p => p.Queue, StringComparer.Ordinal)];
        }
    }

    /// <summary>Returns the pool of <paramref name="queue"/>, or throws <see cref="UnknownComponentException"/>.</summary>
    public IWorkerPool GetPool(string queue)
    {
        lock (_pools)
            return _pools.TryGetValue(queue, out var pool) ? pool : throw new UnknownComponentException("worker pool", queue);
    }

    /// <summary>Finds the pool of <paramref name="queue"/>.</summary>
    public bool TryGetPool(string queue, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IWorkerPool? pool)
    {
        lock (_pools)
        {
            var found = _pools.TryGetValue(queue, out var p);
            pool = p;
            return found;
        }
    }

    /// <summary>State of every pool.</summary>
    public IReadOnlyList<WorkerPoolSnapshot> GetSnapshots() => [.. Pools.Select(p => p.GetSnapshot())];

    internal void Add(IRuntimePool pool)
    {
        lock (_pools)
            _pools.Add(pool.Queue, pool);
    }

    internal void StartAll()
    {
        foreach (var pool in Pools)
            ((IRuntimePool)pool).Start();
    }

    internal Task StopAllAsync(CancellationToken abort)
    {
        IRuntimePool[] pools;
        lock (_pools)
            pools = [.. _pools.Values];
        return Task.WhenAll(pools.Select(p => p.StopAsync(abort)));
    }
}
