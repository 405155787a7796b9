using AppRuntime;
using MailOrderBot.Module;
using MailOrderBot.Services;
using MailOrderBot.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The Mail Order Bot. Everything it runs is declared with attributes (Module/, Sources/, Handlers/, Services/) and composed by
// the generated AddMailOrderBotModule(). `--once` processes what is in the inbox, prints a summary and exits.
var once = args.Any(a => string.Equals(a, "--once", StringComparison.OrdinalIgnoreCase));
var hostArgs = args.Where(a => !string.Equals(a, "--once", StringComparison.OrdinalIgnoreCase)).ToArray();

return await AppRuntimeConsole.BuildAndRunAsync(() =>
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = hostArgs,
        ContentRootPath = AppContext.BaseDirectory, // appsettings.json and the demo inbox sit next to the binary
    });
    var runtime = builder.AddAppRuntime()
        .AddRedisQueues()        // used only when AppRuntime:Queues:orders:Backend=Redis
        .AddTelemetry()          // exports when OTEL_EXPORTER_OTLP_ENDPOINT (or AppRuntime:Telemetry) says so
        .AddMailOrderBotModule();
    if (!once)
        runtime.AddControlPlane(); // dashboard and admin API on http://127.0.0.1:5080
    if (once)
        builder.Services.AddHostedService(sp => new OnceRunner(sp));
    return builder.Build();
});

/// <summary>For <c>--once</c>: waits until the source has drained its inbox, prints the summary and stops the host.</summary>
internal sealed class OnceRunner(IServiceProvider services) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var source = services.GetRequiredService<OrderSource>();
        var lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        var time = services.GetRequiredService<TimeProvider>();
        while (!source.IsDrained)
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, stoppingToken);

        var stats = services.GetRequiredService<OrderStats>();
        var summary = await services.GetRequiredService<IOrderStore>().GetSummaryAsync(stoppingToken);
        var store = services.GetRequiredService<IOrderStore>() is SqliteOrderStore sqlite ? sqlite.Path : "(store)";
        Console.WriteLine();
        Console.WriteLine($"Mail Order Bot summary ({source.Mode})");
        Console.WriteLine($"  this run: {stats.Accepted} accepted, {stats.Rejected} rejected, {stats.Duplicates} already stored");
        Console.WriteLine($"  store:    {summary.Accepted} accepted, {summary.Rejected} rejected, accepted total {summary.AcceptedTotalCents / 100m:0.00} ({store})");
        if (source.Folder is { } folder)
            Console.WriteLine($"  inbox:    {folder.Directory} (processed/ and failed/ hold the handled files)");
        lifetime.StopApplication();
    }
}
