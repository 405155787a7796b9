using AppRuntime;

namespace PaymentNotifier.Services;

/// <summary>What this process sent, for the demo's summary.</summary>
[Service]
public sealed class NotifierStats
{
    private long _notices;
    private long _digests;

    /// <summary>Notices this process sent (or wrote to the pickup folder).</summary>
    public long Notices => Interlocked.Read(ref _notices);

    /// <summary>Digests this process sent.</summary>
    public long Digests => Interlocked.Read(ref _digests);

    internal void NoticeSent() => Interlocked.Increment(ref _notices);

    internal void DigestSent() => Interlocked.Increment(ref _digests);
}
