using AppRuntime;

namespace PaymentNotifier.Services;

/// <summary>
/// Sends a notice or a digest under its claim in the store (<see cref="PaymentStore"/>), the same way for both:
/// <list type="bullet">
/// <item>sent before: nothing happens;</item>
/// <item>another worker's claim is younger than the claim timeout: try again when it runs out;</item>
/// <item>certainly not sent (refused, or failed before the data): the claim is given back, so the next attempt sends at once;
/// a 5xx refusal dead-letters the task;</item>
/// <item>maybe sent (the connection broke during the data, or the process is stopping): the claim is kept, so nobody sends it again
/// before the claim timeout; then it goes again, with the same Message-ID;</item>
/// <item>sent: it is marked sent, even while the process is stopping.</item>
/// </list>
/// </summary>
internal static class ClaimedSend
{
    /// <summary>Runs <paramref name="send"/> under <paramref name="claim"/>; false when nothing was sent because it was sent before.</summary>
    public static async Task<bool> RunAsync(Claim claim, string what, TimeSpan claimTimeout, Func<Task> send, Func<string, Task> release, Func<Task> markSent)
    {
        switch (claim.State)
        {
            case ClaimState.AlreadySent:
                return false;
            case ClaimState.Busy:
                throw new RetryTaskException($"{what} is being sent by another worker; trying again when its claim runs out.", claimTimeout);
        }
        try
        {
            await send();
        }
        catch (MailSendException ex) when (!ex.MaybeSent)
        {
            await release(claim.Token!);
            if (ex.Permanent)
                throw new PermanentTaskException(ex.Message, ex);
            throw new RetryTaskException(ex.Message, ex);
        }
        catch (MailSendException ex)
        {
            throw new RetryTaskException(ex.Message + $"; not sent again before its claim runs out ({claimTimeout})", claimTimeout, ex);
        }
        await markSent();
        return true;
    }
}
