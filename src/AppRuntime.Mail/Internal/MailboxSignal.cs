namespace AppRuntime.Mail.Internal;

/// <summary>
/// Set when the server reports a change in the number of messages (EXISTS/EXPUNGE); ends the current IDLE so the source searches.
/// </summary>
internal sealed class MailboxSignal
{
    private readonly object _gate = new();
    private bool _changed;
    private CancellationTokenSource? _idleDone;

    public bool HasChanged
    {
        get { lock (_gate) return _changed; }
    }

    public void OnCountChanged(object? sender, EventArgs e)
    {
        // Cancel under the lock so Disarm (which precedes disposal of the token source) cannot race with it.
        lock (_gate)
        {
            _changed = true;
            _idleDone?.Cancel();
        }
    }

    /// <summary>Clears the flag before a search; changes reported during the search set it again.</summary>
    public void Reset()
    {
        lock (_gate)
            _changed = false;
    }

    /// <summary>Makes the next change end the IDLE that <paramref name="idleDone"/> controls (at once when a change is pending).</summary>
    public void Arm(CancellationTokenSource idleDone)
    {
        lock (_gate)
        {
            _idleDone = idleDone;
            if (_changed)
                idleDone.Cancel();
        }
    }

    public void Disarm()
    {
        lock (_gate)
            _idleDone = null;
    }
}
