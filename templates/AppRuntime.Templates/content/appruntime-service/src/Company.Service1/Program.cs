using AppRuntime;
using Company.Service1;
using Microsoft.Extensions.Hosting;

// Everything the service runs is declared with attributes (ServiceModule.cs, Sources/, Handlers/) and composed by the generated
// AddServiceModule(). `--once` runs until every source has looked at its input and every task has settled, then exits.
// An invalid configuration ends the process with one report of every problem and exit code 78.
return await AppRuntimeConsole.BuildAndRunAsync(() =>
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = AppRuntimeConsole.TranslateArgs(args),
        ContentRootPath = AppContext.BaseDirectory,
    });
    builder.AddAppRuntime()
#if (redis)
        .AddRedisQueues()
#endif
        .AddServiceModule();
    return builder.Build();
});
