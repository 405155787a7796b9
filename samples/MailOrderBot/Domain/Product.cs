namespace MailOrderBot.Domain;

/// <summary>A product the shop sells.</summary>
/// <param name="Sku">The stock-keeping unit, upper case (for example <c>SKU-1001</c>).</param>
/// <param name="Name">The product name.</param>
/// <param name="Price">The unit price in the shop's currency.</param>
public sealed record Product(string Sku, string Name, decimal Price)
{
    /// <summary>The unit price in cents, rounded half away from zero.</summary>
    public long PriceCents => (long)Math.Round(Price * 100m, MidpointRounding.AwayFromZero);
}
