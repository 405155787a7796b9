namespace AppRuntime.Mail.Internal;

/// <summary>
/// Remembers which messages were published and not yet settled, so a search does not publish them again while a slow handler
/// works on them, and which were settled recently, so a search does not publish them again either:
/// <list type="bullet">
/// <item>An outcome the server confirmed (\Seen or the failed keyword stored) keeps the message from being published again for
/// <see cref="StoredMemory"/>, whenever the search ran: Dovecot has been seen to answer a SEARCH UNSEEN on the IDLE session
/// with a message whose \Seen the completion session had stored before that search, even after a NOOP.</item>
/// <item>An outcome that could not be stored keeps it only from searches that started before the settlement (they saw the
/// message while it was being handled); a later search publishes it again, which is how the flag gets another try.</item>
/// </list>
/// </summary>
internal sealed class InFlightTracker(TimeProvider time, TimeSpan inFlightTimeout)
{
    /// <summary>How long a confirmed outcome suppresses republishing (a user who marks the email unread again waits this long).</summary>
    public static readonly TimeSpan StoredMemory = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan SettledMemory = TimeSpan.FromMinutes(10);
    private readonly object _gate = new();
    private readonly Dictionary<string, DateTimeOffset> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset At, bool Stored)> _settled = new(StringComparer.Ordinal);

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
    /// Claims <paramref name="key"/> for publishing. False when it is in flight, when its outcome was stored on the server
    /// recently, or when it was settled after <paramref name="searchStartedAt"/> (the search saw it before its outcome was stored).
    /// </summary>
    public bool TryBegin(string key, DateTimeOffset searchStartedAt)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_inFlight.ContainsKey(key))
                return false;
            if (_settled.TryGetValue(key, out var settled) && (settled.Stored || settled.At >= searchStartedAt))
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

    /// <summary>Records that the task's outcome is known; <paramref name="stored"/> says whether the server confirmed its flag.</summary>
    public void Settle(string key, bool stored)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _inFlight.Remove(key);
            _settled[key] = (now, stored);
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
            foreach (var (key, settled) in _settled)
            {
                if (now - settled.At > (settled.Stored ? StoredMemory : SettledMemory))
                    (old ??= []).Add(key);
            }

            old?.ForEach(k => _settled.Remove(k));
        }
    }
}
