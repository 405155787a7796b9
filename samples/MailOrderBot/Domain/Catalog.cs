using AppRuntime;
using MailOrderBot.Module;

namespace MailOrderBot.Domain;

/// <summary>The products from configuration (<c>MailOrderBot:Catalog</c>), looked up by SKU case-insensitively.</summary>
[Service]
public sealed class Catalog
{
    private readonly Dictionary<string, Product> _products;

    /// <summary>Creates the catalogue from the bot's settings.</summary>
    public Catalog(MailOrderBotSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _products = new Dictionary<string, Product>(StringComparer.OrdinalIgnoreCase);
        foreach (var (sku, product) in settings.Catalog)
        {
            var key = sku.Trim().ToUpperInvariant();
            _products[key] = new Product(key, product.Name, product.Price);
        }
    }

    /// <summary>The number of products.</summary>
    public int Count => _products.Count;

    /// <summary>Finds a product by SKU, ignoring case.</summary>
    public bool TryFind(string sku, out Product product) => _products.TryGetValue(sku, out product!);
}
