using MailOrderBot.Domain;

namespace MailOrderBot.Services;

/// <summary>Stores order outcomes, idempotent by Message-ID.</summary>
public interface IOrderStore
{
    /// <summary>Stores the outcome with its lines in one transaction. False when an order with that Message-ID already exists (nothing is changed).</summary>
    ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken);

    /// <summary>Counts the stored orders.</summary>
    ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken);
}

/// <summary>Totals over the stored orders.</summary>
/// <param name="Accepted">Accepted orders.</param>
/// <param name="Rejected">Rejected orders.</param>
/// <param name="AcceptedTotalCents">The sum of the accepted orders' totals.</param>
public sealed record OrderSummary(long Accepted, long Rejected, long AcceptedTotalCents);
