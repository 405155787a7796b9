using AppRuntime;
using MailOrderBot.Module;
using Microsoft.Extensions.Hosting;

// The Mail Order Bot. Everything it runs is declared with attributes (Module/, Sources/, Handlers/, Services/) and composed by
// the generated AddMailOrderBotModule(). `--once` is the runtime's run-until-drained mode: the bot processes what is in the
// inbox, prints a summary (Services/OnceSummary.cs) and exits.
var once = args.Any(a => string.Equals(a, AppRuntimeConsole.OnceSwitch, StringComparison.OrdinalIgnoreCase));

return await AppRuntimeConsole.BuildAndRunAsync(() =>
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = AppRuntimeConsole.TranslateArgs(args),
        ContentRootPath = AppContext.BaseDirectory, // appsettings.json and the demo inbox sit next to the binary
    });
    var runtime = builder.AddAppRuntime()
        .AddRedisQueues()        // used only when AppRuntime:Queues:orders:Backend=Redis
        .AddTelemetry()          // exports when OTEL_EXPORTER_OTLP_ENDPOINT (or AppRuntime:Telemetry) says so
        .AddMailOrderBotModule();
    if (!once)
        runtime.AddControlPlane(); // dashboard and admin API on http://127.0.0.1:5080
    return builder.Build();
});
