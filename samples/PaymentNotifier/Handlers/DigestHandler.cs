using AppRuntime;
using Microsoft.Extensions.Logging;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;
using PaymentNotifier.Services;

namespace PaymentNotifier.Handlers;

/// <summary>
/// Sends the digest of one day to the finance address: every payment that failed on that day (midnight to midnight in the
/// schedule's time zone, by the provider's time) and the totals per currency. Once per day, guarded like a notice (claimed, then
/// marked sent), so a second occurrence for the same day, a catch-up or a redelivery sends nothing more. The digest lists what the
/// store holds when it runs: a failure the provider reports after that (or still queued then) is in no digest.
/// </summary>
[TaskHandler("digests")]
public sealed partial class DigestHandler(PaymentStore store, IMailSender sender, MessageRenderer renderer, PaymentNotifierSettings settings,
    NotifierStats stats, ILogger<DigestHandler> logger) : ITaskHandler<DigestTask>
{
    /// <inheritdoc />
    public async ValueTask HandleAsync(DigestTask task, TaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        TimeZoneInfo zone;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(task.TimeZone);
        }
        catch (TimeZoneNotFoundException ex)
        {
            throw new PermanentTaskException($"Digest {task.Day:yyyy-MM-dd}: unknown time zone '{task.TimeZone}'.", ex);
        }
        var (from, to) = DayBounds(task.Day, zone);
        var failures = await store.GetFailedPaymentsAsync(from, to, cancellationToken);
        var messageId = renderer.DigestMessageId(task.Day);
        var claimTimeout = settings.Delivery.ClaimTimeout;
        var dayText = task.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var claim = await store.ClaimDigestAsync(task.Day, settings.FinanceAddress, messageId, failures.Count, claimTimeout, cancellationToken);
        var sent = await ClaimedSend.RunAsync(claim, $"The digest of {dayText}", claimTimeout,
            () => sender.SendAsync(renderer.RenderDigest(task.Day, task.TimeZone, failures, messageId), cancellationToken),
            token => store.ReleaseDigestClaimAsync(task.Day, token, CancellationToken.None),
            () => store.MarkDigestSentAsync(task.Day, CancellationToken.None));
        if (!sent)
        {
            LogSentBefore(logger, dayText);
            return;
        }
        stats.DigestSent();
        LogSent(logger, dayText, failures.Count, settings.FinanceAddress);
    }

    /// <summary>The day from midnight to midnight in <paramref name="zone"/>, in UTC (23 or 25 hours on a daylight-saving change; from the first valid time where midnight is skipped).</summary>
    public static (DateTimeOffset From, DateTimeOffset To) DayBounds(DateOnly day, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        static DateTimeOffset Midnight(DateOnly d, TimeZoneInfo z)
        {
            // Where a daylight-saving change skips midnight (clocks go from 23:59:59 to 01:00), the day starts at the first valid minute.
            var local = d.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
            while (z.IsInvalidTime(local))
                local = local.AddMinutes(1);
            return new(TimeZoneInfo.ConvertTimeToUtc(local, z), TimeSpan.Zero);
        }
        return (Midnight(day, zone), Midnight(day.AddDays(1), zone));
    }

    [LoggerMessage(1, LogLevel.Information, "Digest of {Day} sent: {Count} failed payments, to {Recipient}")]
    private static partial void LogSent(ILogger logger, string day, int count, string recipient);

    [LoggerMessage(2, LogLevel.Information, "Digest of {Day} was sent before: not sent again")]
    private static partial void LogSentBefore(ILogger logger, string day);
}
