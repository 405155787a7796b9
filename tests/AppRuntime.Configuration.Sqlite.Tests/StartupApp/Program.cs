using AppRuntime;
using AppRuntime.Configuration.Tests;
using Microsoft.Extensions.Hosting;

// Usage: StartupApp <sqlite connection string> [host arguments...]
// Composes a host with the SQLite configuration loader and the Shop section, then runs it through AppRuntimeConsole.
// A valid configuration starts and stops again at once (the host is asked to stop as soon as it runs).
return await AppRuntimeConsole.BuildAndRunAsync(() =>
{
    var builder = Host.CreateApplicationBuilder(args[1..]);
    builder.AddAppRuntime()
        .AddSqliteConfiguration(args[0])
        .AddConfigSection(ShopSettings.Definition);
    var host = builder.Build();
    var lifetime = (IHostApplicationLifetime)host.Services.GetService(typeof(IHostApplicationLifetime))!;
    lifetime.ApplicationStarted.Register(lifetime.StopApplication);
    return host;
});
