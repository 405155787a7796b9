namespace AppRuntime.Mail.Internal;

/// <summary>Which flag records a task's outcome on the server.</summary>
internal enum OutcomeFlag
{
    /// <summary><c>\Seen</c>: the handler succeeded.</summary>
    Seen,

    /// <summary>The failed keyword: dead-lettered, unreadable or over the size limit (the message stays unread).</summary>
    Failed,
}

/// <summary>One message whose outcome is to be stored as a flag.</summary>
internal sealed record FlagTarget(string Key, uint UidValidity, uint Uid, string? MessageId, OutcomeFlag Flag);

/// <summary>What the server showed after a flag was stored.</summary>
internal enum StoreResult
{
    /// <summary>The server showed the flag on the message.</summary>
    Confirmed,

    /// <summary>The message no longer exists in the folder.</summary>
    Gone,

    /// <summary>The server did not show the flag (it ignored the STORE, or the connection failed); reconciliation tries again.</summary>
    Unconfirmed,
}

/// <summary>
/// The source's memory of its messages:
/// <list type="bullet">
/// <item><b>In flight</b>: published and not yet settled, so a search does not publish them again while a slow handler works.
/// An entry whose outcome never arrives expires after the in-flight timeout and is published again.</item>
/// <item><b>Outcomes</b>: settled messages with the flag that records their outcome, and whether the server has shown that flag.
/// A message with a recorded outcome is never published again while the record lasts (the outcome retention): if its flag is
/// missing on the server, reconciliation stores it again instead.</item>
/// </list>
/// Thread-safe.
/// </summary>
internal sealed class InFlightTracker(TimeProvider time, TimeSpan inFlightTimeout, TimeSpan outcomeRetention)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Outcome> _outcomes = new(StringComparer.Ordinal);
    private int _unconfirmed;
    private DateTimeOffset _nextPendingCheck;

    /// <summary>Messages published and not yet settled.</summary>
    public int Count
    {
        get { lock (_gate) return _inFlight.Count; }
    }

    /// <summary>Recorded outcomes whose flag the server has not shown yet.</summary>
    public int Unconfirmed
    {
        get { lock (_gate) return _unconfirmed; }
    }

    /// <summary>Recorded outcomes (confirmed or not).</summary>
    public int Outcomes
    {
        get { lock (_gate) return _outcomes.Count; }
    }

    /// <summary>Forgets expired entries; called before each search.</summary>
    public void Prune()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            RemoveWhere(_inFlight, entry => now - entry.At > inFlightTimeout);
            var before = _outcomes.Count;
            if (before > 0)
                RemoveWhere(_outcomes, o => now - o.At > outcomeRetention);
            if (_outcomes.Count != before)
                RecountUnconfirmed();
        }
    }

    /// <summary>
    /// Forgets in-flight messages that the last search no longer found (<paramref name="unseen"/>: the keys it found): their outcome
    /// flag is on the server, so they were settled, by this instance or by another one sharing the queue (whose settlement this
    /// instance never hears of), or they were expunged. Returns how many were forgotten.
    /// </summary>
    public int ForgetSettledElsewhere(IReadOnlySet<string> unseen)
    {
        lock (_gate)
        {
            List<string>? gone = null;
            foreach (var key in _inFlight.Keys)
            {
                if (!unseen.Contains(key))
                    (gone ??= []).Add(key);
            }
            gone?.ForEach(k => _inFlight.Remove(k));
            return gone?.Count ?? 0;
        }
    }

    /// <summary>
    /// The in-flight messages published more than <paramref name="age"/> ago (at most <paramref name="max"/>, oldest first), or
    /// none when the last call that returned some was less than <paramref name="age"/> ago: asked once per <paramref name="age"/>.
    /// </summary>
    public IReadOnlyList<string> DueForPendingCheck(TimeSpan age, int max)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_inFlight.Count == 0 || now < _nextPendingCheck)
                return [];
            List<string> due = [.. _inFlight.Where(e => now - e.Value.At >= age && !e.Value.Released).OrderBy(e => e.Value.At).Take(max).Select(e => e.Key)];
            if (due.Count > 0)
                _nextPendingCheck = now + age;
            return due;
        }
    }

    /// <summary>How long until <see cref="DueForPendingCheck"/> returns messages (zero: now), or null while none can be due.</summary>
    public TimeSpan? UntilPendingCheck(TimeSpan age)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            DateTimeOffset? first = null;
            foreach (var entry in _inFlight.Values)
            {
                if (!entry.Released && (first is null || entry.At < first))
                    first = entry.At;
            }
            if (first is not { } oldest)
                return null;
            var due = oldest + age > _nextPendingCheck ? oldest + age : _nextPendingCheck;
            return due <= now ? TimeSpan.Zero : due - now;
        }
    }

    /// <summary>
    /// Records that the queue does not hold the task of in-flight <paramref name="key"/>: true when an earlier check found the same
    /// (its claim is released: the next <see cref="TryBegin"/> of it succeeds, so the next search publishes it again), false the
    /// first time. Two checks a check interval apart outlast the moment between a worker's ack and its flag STORE, in this process
    /// or another. A key is released at most once while it stays in flight (until its outcome, or until a search no longer finds it).
    /// </summary>
    public bool NotPending(string key)
    {
        lock (_gate)
        {
            if (!_inFlight.TryGetValue(key, out var entry) || entry.Released)
                return false;
            if (!entry.NotPendingOnce)
            {
                entry.NotPendingOnce = true;
                return false;
            }
            entry.NotPendingOnce = false;
            entry.Released = true;
            entry.AwaitingRepublish = true;
            return true;
        }
    }

    /// <summary>Records that the queue still holds the task of <paramref name="key"/>.</summary>
    public void Pending(string key)
    {
        lock (_gate)
        {
            if (_inFlight.TryGetValue(key, out var entry))
                entry.NotPendingOnce = false;
        }
    }

    /// <summary>Claims <paramref name="key"/> for publishing: false when it is in flight or its outcome is recorded.</summary>
    public bool TryBegin(string key)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_outcomes.ContainsKey(key))
                return false;
            if (_inFlight.TryGetValue(key, out var entry))
            {
                if (!entry.AwaitingRepublish)
                    return false;
                entry.AwaitingRepublish = false; // released by two pending checks: published again, and never released again
                entry.At = now;
                return true;
            }
            _inFlight[key] = new InFlight(now);
            return true;
        }
    }

    /// <summary>Forgets a claim whose publish failed.</summary>
    public void Abandon(string key)
    {
        lock (_gate)
            _inFlight.Remove(key);
    }

    /// <summary>
    /// Ends the claim of <paramref name="target"/> with the result of storing its flag: the outcome is recorded (confirmed or not),
    /// or forgotten when the message is gone.
    /// </summary>
    public void Settle(FlagTarget target, StoreResult result)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _inFlight.Remove(target.Key);
            SetLocked(target, result, now);
        }
    }

    /// <summary>Applies a reconciliation result to a recorded outcome (keeping its original time).</summary>
    public void Update(FlagTarget target, StoreResult result)
    {
        lock (_gate)
        {
            if (_outcomes.TryGetValue(target.Key, out var existing))
                SetLocked(target, result, existing.At);
        }
    }

    /// <summary>The recorded outcomes, for reconciliation.</summary>
    public List<FlagTarget> SnapshotOutcomes()
    {
        lock (_gate)
            return _outcomes.Values.Select(o => o.Target).ToList();
    }

    /// <summary>Forgets recorded outcomes (for example of an older UIDVALIDITY, whose UIDs mean nothing any more).</summary>
    public void Forget(IEnumerable<FlagTarget> targets)
    {
        lock (_gate)
        {
            foreach (var target in targets)
                _outcomes.Remove(target.Key);
            RecountUnconfirmed();
        }
    }

    private void SetLocked(FlagTarget target, StoreResult result, DateTimeOffset at)
    {
        if (_outcomes.Remove(target.Key, out var old) && !old.Confirmed)
            _unconfirmed--;
        if (result == StoreResult.Gone)
            return;
        var confirmed = result == StoreResult.Confirmed;
        _outcomes[target.Key] = new Outcome(target, at, confirmed);
        if (!confirmed)
            _unconfirmed++;
    }

    private void RecountUnconfirmed() => _unconfirmed = _outcomes.Values.Count(o => !o.Confirmed);

    private static void RemoveWhere<TValue>(Dictionary<string, TValue> entries, Func<TValue, bool> expired)
    {
        List<string>? old = null;
        foreach (var (key, value) in entries)
        {
            if (expired(value))
                (old ??= []).Add(key);
        }

        old?.ForEach(k => entries.Remove(k));
    }

    private readonly record struct Outcome(FlagTarget Target, DateTimeOffset At, bool Confirmed);

    /// <summary>
    /// A published message: when, whether one pending check found its task gone from the queue (the next check that agrees releases
    /// it), whether such a check released it (at most once while it stays in flight), and whether it waits to be published again.
    /// </summary>
    private sealed class InFlight(DateTimeOffset at)
    {
        public DateTimeOffset At { get; set; } = at;

        public bool NotPendingOnce { get; set; }

        public bool Released { get; set; }

        public bool AwaitingRepublish { get; set; }
    }
}
