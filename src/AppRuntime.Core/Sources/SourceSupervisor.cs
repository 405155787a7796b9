using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// Owns the running sources, as <see cref="WorkerSupervisor"/> owns the pools: one runner per declared source, which restarts
/// a faulted source with backoff, pauses and resumes it, and knows when it has drained.
/// </summary>
public sealed class SourceSupervisor
{
    private readonly Dictionary<string, IRuntimeSource> _sources = new(StringComparer.Ordinal);

    internal SourceSupervisor()
    {
    }

    /// <summary>The state of every source, sorted by name.</summary>
    public IReadOnlyList<SourceSnapshot> GetSnapshots()
    {
        lock (_sources)
            return [.. _sources.Values.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => s.GetSnapshot())];
    }

    /// <summary>True when every source has looked at all its input once and everything it published has settled.</summary>
    public bool AllDrained
    {
        get
        {
            lock (_sources)
                return _sources.Values.All(s => s.IsDrained);
        }
    }

    /// <summary>The sources that have not drained yet, with how many of their tasks are unsettled.</summary>
    public IReadOnlyList<(string Source, int Unsettled)> Undrained()
    {
        lock (_sources)
            return [.. _sources.Values.Where(s => !s.IsDrained).OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => (s.Name, s.Unsettled))];
    }

    /// <summary>The exclusive sources this instance leads right now (through a lease shared with other instances), sorted.</summary>
    public IReadOnlyList<string> Leading()
    {
        lock (_sources)
            return [.. _sources.Values.Where(s => s.LeadsShared).Select(s => s.Name).Order(StringComparer.Ordinal)];
    }

    internal bool TryGet(string name, out IRuntimeSource source)
    {
        lock (_sources)
            return _sources.TryGetValue(name, out source!);
    }

    internal void Add(IRuntimeSource source)
    {
        lock (_sources)
            _sources.Add(source.Name, source);
    }

    internal void StartAll()
    {
        IRuntimeSource[] sources;
        lock (_sources)
            sources = [.. _sources.Values];
        foreach (var source in sources)
            source.Start();
    }

    internal async Task StopAllAsync()
    {
        IRuntimeSource[] sources;
        lock (_sources)
            sources = [.. _sources.Values];
        await Task.WhenAll(sources.Select(s => s.StopAsync())).ConfigureAwait(false);
        foreach (var s in sources)
            (s as IDisposable)?.Dispose();
    }
}
