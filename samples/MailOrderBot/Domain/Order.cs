namespace MailOrderBot.Domain;

/// <summary>One line of an order as written in the email.</summary>
/// <param name="Sku">The SKU, upper case.</param>
/// <param name="Quantity">The quantity asked for.</param>
/// <param name="UnitPriceCents">The catalogue price in cents; 0 when the SKU is unknown.</param>
public sealed record OrderLine(string Sku, long Quantity, long UnitPriceCents)
{
    /// <summary>Quantity times unit price.</summary>
    public long TotalCents => Quantity * UnitPriceCents;
}

/// <summary>Whether an order was taken.</summary>
public enum OrderStatus
{
    /// <summary>Every line is valid; stored with its lines and total.</summary>
    Accepted = 0,

    /// <summary>No lines, an unknown SKU or a quantity out of range; stored with the reason.</summary>
    Rejected = 1,
}

/// <summary>What became of one order email: the parsed order and whether it was accepted.</summary>
public sealed record OrderOutcome
{
    /// <summary>The email's Message-ID, or a key derived from its content when it has none. The order's primary key.</summary>
    public required string MessageId { get; init; }

    /// <summary>Accepted or rejected.</summary>
    public required OrderStatus Status { get; init; }

    /// <summary>The customer: the <c>Name:</c> line, else the sender.</summary>
    public string? Customer { get; init; }

    /// <summary>The <c>Address:</c> line, if any.</summary>
    public string? Address { get; init; }

    /// <summary>Why the order was rejected; null when accepted.</summary>
    public string? Reason { get; init; }

    /// <summary>The order lines found (also for rejected orders, for the record).</summary>
    public IReadOnlyList<OrderLine> Lines { get; init; } = [];

    /// <summary>The sum of the line totals (0 for rejected orders).</summary>
    public long TotalCents { get; init; }

    /// <summary>When the email was sent (its Date header), or when it was processed when it has none.</summary>
    public DateTimeOffset ReceivedAt { get; init; }
}
