namespace AppRuntime.Internal;

/// <summary>
/// The ids an in-memory queue published with <see cref="ITaskQueue{T}.PublishOnceAsync"/>, each until its window ends. Bounded:
/// beyond <see cref="Capacity"/> ids the one whose window ends first is forgotten early. Thread-safe.
/// </summary>
internal sealed class DeduplicationMemory(int capacity)
{
    /// <summary>The default bound: 100,000 ids (a few MB).</summary>
    public const int DefaultCapacity = 100_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _until = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _byExpiry = new();

    public int Capacity { get; } = capacity;

    public int Count
    {
        get
        {
            lock (_lock)
                return _until.Count;
        }
    }

    /// <summary>Claims <paramref name="id"/> until <paramref name="until"/>; false when it is claimed already and its window has not ended.</summary>
    public bool TryClaim(string id, DateTimeOffset now, DateTimeOffset until)
    {
        lock (_lock)
        {
            Prune(now.UtcTicks);
            if (_until.TryGetValue(id, out var claimedUntil) && claimedUntil > now.UtcTicks)
                return false;
            _until[id] = until.UtcTicks;
            _byExpiry.Enqueue(id, until.UtcTicks);
            while (_until.Count > Capacity && _byExpiry.TryDequeue(out var oldest, out var expiry))
            {
                if (_until.TryGetValue(oldest, out var current) && current == expiry && oldest != id)
                    _until.Remove(oldest);
            }
            return true;
        }
    }

    /// <summary>Gives a claim back (its publish did not happen).</summary>
    public void Release(string id)
    {
        lock (_lock)
            _until.Remove(id);
    }

    private void Prune(long nowTicks)
    {
        while (_byExpiry.TryPeek(out var id, out var expiry) && expiry <= nowTicks)
        {
            _byExpiry.Dequeue();
            if (_until.TryGetValue(id, out var current) && current == expiry)
                _until.Remove(id);
        }
        // Entries whose id was claimed again later keep a stale heap entry; they are skipped above when they come up.
        if (_byExpiry.Count > 4 * Math.Max(_until.Count, 1024))
        {
            _byExpiry.Clear();
            foreach (var (key, until) in _until)
                _byExpiry.Enqueue(key, until);
        }
    }
}
