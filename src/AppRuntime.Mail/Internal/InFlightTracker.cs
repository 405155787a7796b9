namespace AppRuntime.Mail.Internal;

/// <summary>
/// Remembers which messages were published and not yet settled, so a search does not publish them again while a slow handler
/// works on them, and which were settled recently, so a search that started before the settlement does not republish them.
/// </summary>
internal sealed class InFlightTracker(TimeProvider time, TimeSpan inFlightTimeout)
{
    private static readonly TimeSpan SettledMemory = TimeSpan.FromMinutes(10);
    private readonly object _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _settled = new(StringComparer.Ordinal);

    public int Count
    {
        get { lock (_gate) return _inFlight.Count; }
    }

    /// <summary>Starts a search: forgets expired entries and returns the time to pass to <see cref="TryBegin"/>.</summary>
    public DateTimeOffset StartSearch()
    {
        var now = time.GetUtcNow();
        lock (_gate)
            Prune(now);
        return now;
    }

    /// <summary>
    /// Claims <paramref name="key"/> for publishing. False when it is in flight, or was settled after <paramref name="searchStartedAt"/>
    /// (the search saw it before its outcome was stored).
    /// </summary>
    public bool TryBegin(string key, DateTimeOffset searchStartedAt)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_inFlight.ContainsKey(key))
                return false;
            if (_settled.TryGetValue(key, out var settledAt) && settledAt >= searchStartedAt)
                return false;
            _inFlight[key] = now;
            return true;
        }
    }

    /// <summary>Forgets a claim whose publish failed.</summary>
    public void Abandon(string key)
    {
        lock (_gate)
            _inFlight.Remove(key);
    }

    /// <summary>Records that the task's outcome was stored at its origin.</summary>
    public void Settle(string key)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _inFlight.Remove(key);
            _settled[key] = now;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        if (_inFlight.Count > 0)
        {
            List<string>? expired = null;
            foreach (var (key, at) in _inFlight)
            {
                if (now - at > inFlightTimeout)
                    (expired ??= []).Add(key);
            }

            expired?.ForEach(k => _inFlight.Remove(k));
        }

        if (_settled.Count > 0)
        {
            List<string>? old = null;
            foreach (var (key, at) in _settled)
            {
                if (now - at > SettledMemory)
                    (old ??= []).Add(key);
            }

            old?.ForEach(k => _settled.Remove(k));
        }
    }
}
