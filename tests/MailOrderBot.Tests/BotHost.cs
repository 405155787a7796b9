using System.Globalization;
using AppRuntime;
using MailOrderBot.Module;
using MailOrderBot.Services;
using MailOrderBot.Sources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailOrderBot.Tests;

/// <summary>The bot composed exactly as Program.cs does (the generated AddMailOrderBotModule on the real runtime), configured for a test.</summary>
internal sealed class BotHost : IAsyncDisposable
{
    private BotHost(IHost host) => Host = host;

    public IHost Host { get; }

    public OrderSource Source => Host.Services.GetRequiredService<OrderSource>();

    public OrderStats Stats => Host.Services.GetRequiredService<OrderStats>();

    /// <summary>The runtime's drained signal: the source looked at its whole inbox once and every email it published is settled.</summary>
    public async Task<bool> IsDrainedAsync() => await Host.Services.GetRequiredService<RuntimeManager>().IsDrainedAsync();

    public static Dictionary<string, string?> ImapConfig(string folder, SourceMode mode, int? port = null) => new()
    {
        ["MailOrderBot:Source:Mode"] = mode.ToString(),
        ["MailOrderBot:Imap:Host"] = ImapTestServer.Host,
        ["MailOrderBot:Imap:Port"] = (port ?? ImapTestServer.Port).ToString(CultureInfo.InvariantCulture),
        ["MailOrderBot:Imap:Security"] = "None",
        ["MailOrderBot:Imap:Username"] = "bot",
        ["MailOrderBot:Imap:Password"] = ImapTestServer.Password,
        ["MailOrderBot:Imap:Folder"] = folder,
        ["MailOrderBot:Imap:PollInterval"] = mode == SourceMode.ImapIdle ? "01:00:00" : "00:00:00.200",
    };

    public static async Task<BotHost> StartAsync(string dbPath, Dictionary<string, string?> config, int workers = 4,
        Func<IOrderStore, IOrderStore>? wrapStore = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var values = new Dictionary<string, string?>
        {
            ["MailOrderBot:Workers"] = workers.ToString(CultureInfo.InvariantCulture),
            ["MailOrderBot:Store:Path"] = dbPath,
            ["MailOrderBot:Store:BusyTimeout"] = "00:00:01",
            ["MailOrderBot:Folder:PollInterval"] = "00:00:00.100",
        };
        foreach (var (sku, settings) in TestData.Settings().Catalog)
        {
            values[$"MailOrderBot:Catalog:{sku}:Name"] = settings.Name;
            values[$"MailOrderBot:Catalog:{sku}:Price"] = settings.Price.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in config)
            values[key] = value;
        builder.Configuration.AddInMemoryCollection(values);
        builder.AddAppRuntime().AddMailOrderBotModule();
        if (wrapStore is not null)
            builder.Services.AddSingleton<IOrderStore>(sp => wrapStore(new SqliteOrderStore(sp.GetRequiredService<MailOrderBotSettings>())));
        var host = builder.Build();
        await host.StartAsync();
        return new BotHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Host.StopAsync(timeout.Token);
        if (Host is IAsyncDisposable disposable)
            await disposable.DisposeAsync();
        else
            Host.Dispose();
    }
}
