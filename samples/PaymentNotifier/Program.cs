using AppRuntime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PaymentNotifier.Module;
using PaymentNotifier.Services;

// The Payment Notifier. Everything it runs is declared with attributes (Module/, Sources/, Handlers/, Services/) and composed by
// the generated AddPaymentNotifierModule(). `--demo [--demo-dir=<path>]` replays the bundled signed events against its own webhook
// endpoint, writes the notices and the digest to a pickup folder, prints a summary and exits (Services/DemoRunner.cs).
const string DemoSwitch = "--demo";
const string DemoDirSwitch = "--demo-dir=";
var demo = args.Any(a => string.Equals(a, DemoSwitch, StringComparison.OrdinalIgnoreCase));
if (demo)
{
    // A fresh directory per demo run (default demo-run/ next to the binary) for the store and the pickup folder, a free port for the
    // webhook listener and the demo's own signing secret. The demo never touches a configured database, Redis or SMTP server: the
    // settings that would send it there are forced after the command line's.
    var dir = args.LastOrDefault(a => a.StartsWith(DemoDirSwitch, StringComparison.OrdinalIgnoreCase)) is { } given
        ? Path.GetFullPath(given[DemoDirSwitch.Length..])
        : Path.Combine(AppContext.BaseDirectory, "demo-run");
    if (Directory.Exists(dir))
        Directory.Delete(dir, recursive: true);
    Directory.CreateDirectory(dir);
    args = [
        "--AppRuntime:Webhooks:Urls=http://127.0.0.1:0",
        .. args.Where(a => !string.Equals(a, DemoSwitch, StringComparison.OrdinalIgnoreCase) && !a.StartsWith(DemoDirSwitch, StringComparison.OrdinalIgnoreCase)),
        "--AppRuntime:DefaultBackend=InMemory",
        "--AppRuntime:Webhooks:Sources:payments:Secrets:0=" + DemoRunner.DemoSecret,
        "--PaymentNotifier:Store:Provider=Sqlite",
        "--PaymentNotifier:Store:Path=" + Path.Combine(dir, "payment-notifier.db"),
        "--PaymentNotifier:Delivery:Mode=Pickup",
        "--PaymentNotifier:Delivery:PickupPath=" + Path.Combine(dir, "pickup"),
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
