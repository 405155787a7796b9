// A scheduled-source app for the scheduling tests and the latency benchmark. Every setting comes from the command line, e.g.
//   dotnet AppRuntime.Scheduling.TestApp.dll --AppRuntime:Queues:ticks:Backend=Redis --AppRuntime:Redis:KeyPrefix=p1 \
//       --TickerTest:Record=p1:rec --AppRuntime:Sources:ticker:Cron="5-24 31 10 6 12 *"
// With TICKER_STDIN_STOPS=1, closing standard input stops it gracefully; the tests also kill it with SIGKILL. TICKER_REDIS: the
// Redis endpoint of the records (default 127.0.0.1:6390).
using AppRuntime;
using AppRuntime.Scheduling.TestApp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("AppRuntime.Scheduling", LogLevel.Information);
builder.Services.AddSingleton(TimeProvider.System);
builder.AddAppRuntime().AddRedisQueues().AddTickerModule();
using var host = builder.Build();
if (Environment.GetEnvironmentVariable("TICKER_STDIN_STOPS") == "1")
{
    var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
    _ = Task.Run(async () =>
    {
        await Console.In.ReadToEndAsync();
        lifetime.StopApplication();
    });
}
Console.WriteLine($"ticker: process {Environment.ProcessId} starting");
return await AppRuntimeConsole.RunAsync(host);
