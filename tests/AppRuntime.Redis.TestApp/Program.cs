// A Redis-queue app with slow handlers for the multi-instance tests. Every setting comes from the command line, e.g.
//   dotnet AppRuntime.Redis.TestApp.dll --AppRuntime:Queues:slow:Backend=Redis --AppRuntime:Redis:KeyPrefix=p1 \
//       --AppRuntime:Queues:slow:VisibilityTimeout=00:00:05 --SlowTest:Record=p1:rec
// Closing standard input stops it gracefully (SIGTERM's path: the host's StopApplication); the tests also kill it with SIGKILL.
// SLOW_REDIS: the Redis endpoint of the records (default 127.0.0.1:6390). --TickTest:Enabled=true runs the exclusive tick source
// (Ticks.cs); --AppRuntime:ControlPlane:Urls=http://127.0.0.1:<port> adds the control plane (/api/cluster).
using AppRuntime;
using AppRuntime.Redis.TestApp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Logging.AddFilter("AppRuntime.Runtime", LogLevel.Information);
builder.Logging.AddFilter("AppRuntime.Source", LogLevel.Information);
var runtime = builder.AddAppRuntime().AddRedisQueues().AddSlowModule();
// The control plane only when a test gives it an address (several instances run side by side).
if (builder.Configuration["AppRuntime:ControlPlane:Urls"] is not null)
    runtime.AddControlPlane();
using var host = builder.Build();
var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
_ = Task.Run(async () =>
{
    await Console.In.ReadToEndAsync();
    Console.WriteLine($"slow: process {Environment.ProcessId} stopping (standard input closed)");
    lifetime.StopApplication();
});
Console.WriteLine($"slow: process {Environment.ProcessId} starting");
return await AppRuntimeConsole.RunAsync(host);
