using AppRuntime;
using MailOrderBot.Module;
using MailOrderBot.Sources;

namespace MailOrderBot.Services;

/// <summary>
/// With <c>--once</c> (the runtime's <see cref="RunMode.UntilDrained"/>): once the inbox is drained and every email settled,
/// prints what this run did and what the store holds; then the runtime stops the bot.
/// </summary>
[Service(As = typeof(IDrainObserver))]
public sealed class OnceSummary(MailOrderBotSettings settings, OrderStats stats, IOrderStore store) : IDrainObserver
{
    /// <inheritdoc />
    public async ValueTask OnDrainedAsync(CancellationToken cancellationToken)
    {
        var summary = await store.GetSummaryAsync(cancellationToken);
        var where = store switch
        {
            OrderStore chosen => chosen.Description,
            SqliteOrderStore sqlite => sqlite.Path,
            PostgreSqlOrderStore postgres => postgres.Description,
            _ => "(store)",
        };
        Console.WriteLine();
        Console.WriteLine($"Mail Order Bot summary ({settings.Source.Mode})");
        Console.WriteLine($"  this run: {stats.Accepted} accepted, {stats.Rejected} rejected, {stats.Duplicates} already stored");
        Console.WriteLine($"  store:    {summary.Accepted} accepted, {summary.Rejected} rejected, accepted total {summary.AcceptedTotalCents / 100m:0.00} ({where})");
        if (settings.Source.Mode == SourceMode.Folder)
            Console.WriteLine($"  inbox:    {OrderSource.ResolvePath(settings.Folder.Path)} (processed/ and failed/ hold the handled files)");
    }
}
