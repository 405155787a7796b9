using AppRuntime;
using MailOrderBot.Domain;
using MailOrderBot.Module;

namespace MailOrderBot.Services;

/// <summary>
/// The order store chosen by <c>MailOrderBot:Store:Provider</c>: <see cref="SqliteOrderStore"/> (<c>Sqlite</c>, the default) or
/// <see cref="PostgreSqlOrderStore"/> (<c>PostgreSql</c>). The handler and the summary see only <see cref="IOrderStore"/>, so they
/// stay the same when the store changes (as <see cref="Sources.OrderSource"/> does for the source).
/// </summary>
[Service(As = typeof(IOrderStore))]
public sealed class OrderStore : IOrderStore, IAsyncDisposable, IDisposable
{
    /// <summary>Creates the store the settings ask for.</summary>
    public OrderStore(MailOrderBotSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Provider = settings.Store.ProviderKind;
        switch (Provider)
        {
            case StoreProvider.Sqlite:
                var sqlite = new SqliteOrderStore(settings);
                (Inner, Description) = (sqlite, sqlite.Path);
                break;
            case StoreProvider.PostgreSql:
                var postgres = new PostgreSqlOrderStore(settings);
                (Inner, Description) = (postgres, postgres.Description);
                break;
            default:
                throw new ArgumentException($"MailOrderBot:Store:Provider must be {StoreSettings.ProviderNames} (was {(int)Provider}).", nameof(settings));
        }
    }

    /// <summary>The provider in use.</summary>
    public StoreProvider Provider { get; }

    /// <summary>The store in use.</summary>
    public IOrderStore Inner { get; }

    /// <summary>Where the orders are, without secrets: the SQLite file, or PostgreSQL's host, port, database and schema.</summary>
    public string Description { get; }

    /// <inheritdoc />
    public ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken) => Inner.SaveAsync(outcome, cancellationToken);

    /// <inheritdoc />
    public ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken) => Inner.GetSummaryAsync(cancellationToken);

    /// <summary>Closes the inner store's connections.</summary>
    public ValueTask DisposeAsync() => Inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Closes the inner store's connections.</summary>
    public void Dispose() => (Inner as IDisposable)?.Dispose();
}
