using AppRuntime;

namespace MailOrderBot.Services;

/// <summary>What this run of the bot did, for the summary it prints.</summary>
[Service]
public sealed class OrderStats
{
    private long _accepted;
    private long _rejected;
    private long _duplicates;

    /// <summary>Orders accepted in this run.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Orders rejected in this run.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Emails whose order was already stored (redeliveries).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Counts one processed email.</summary>
    public void Record(Domain.OrderStatus status, bool stored)
    {
        if (!stored)
            Interlocked.Increment(ref _duplicates);
        else if (status == Domain.OrderStatus.Accepted)
            Interlocked.Increment(ref _accepted);
        else
            Interlocked.Increment(ref _rejected);
    }
}
