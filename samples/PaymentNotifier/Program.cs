using AppRuntime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PaymentNotifier.Module;
using PaymentNotifier.Services;

// The Payment Notifier. Everything it runs is declared with attributes (Module/, Sources/, Handlers/, Services/) and composed by
// the generated AddPaymentNotifierModule(). `--demo` replays the bundled signed events against its own webhook endpoint, writes the
// notices and the digest to a pickup folder, prints a summary and exits (Services/DemoRunner.cs).
const string DemoSwitch = "--demo";
var demo = args.Any(a => string.Equals(a, DemoSwitch, StringComparison.OrdinalIgnoreCase));
if (demo)
{
    // A fresh store and pickup folder per demo run; a free port for the webhook listener. Later arguments still override these.
    var run = Path.Combine(AppContext.BaseDirectory, "demo-run");
    if (Directory.Exists(run))
        Directory.Delete(run, recursive: true);
    args = [
        "--PaymentNotifier:Store:Path=demo-run/payment-notifier.db",
        "--PaymentNotifier:Delivery:Mode=Pickup",
        "--PaymentNotifier:Delivery:PickupPath=demo-run/pickup",
        "--AppRuntime:Webhooks:Urls=http://127.0.0.1:0",
        .. args.Where(a => !string.Equals(a, DemoSwitch, StringComparison.OrdinalIgnoreCase)),
    ];
}

var exit = await AppRuntimeConsole.BuildAndRunAsync(() =>
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = AppRuntimeConsole.TranslateArgs(args),
        ContentRootPath = AppContext.BaseDirectory, // appsettings.json and demo-events.json sit next to the binary
    });
    var runtime = builder.AddAppRuntime()
        .AddRedisQueues()        // used when AppRuntime:DefaultBackend (or AppRuntime:Queues:<name>:Backend) is Redis
        .AddPaymentNotifierModule();
    builder.Services.AddHostedService<StoreMigration>();
    if (demo)
        builder.Services.AddHostedService<DemoRunner>();
    else
        runtime.AddControlPlane(); // dashboard and admin API on AppRuntime:ControlPlane:Urls
    return builder.Build();
});
return exit == 0 && Environment.ExitCode != 0 ? Environment.ExitCode : exit;
