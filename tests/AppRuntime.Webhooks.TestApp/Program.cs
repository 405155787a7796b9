using AppRuntime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WebhookTestApp;

// A webhook application for the tests: four signed sources (Standard Webhooks, GitHub, Stripe, custom HMAC; the test vectors'
// secrets are in appsettings.json) whose handlers write every delivery to a Redis hash the tests read. Everything is declared
// with attributes and composed by the generated AddWebhookTestModule(). Settings come from the command line (--Key=value).
return await AppRuntimeConsole.BuildAndRunAsync(() =>
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = AppRuntimeConsole.TranslateArgs(args),
        ContentRootPath = AppContext.BaseDirectory,
    });
    // The signed timestamps of published test vectors are years old: the test harness sets APPRUNTIME_TEST_CLOCK=<unix seconds> to
    // shift this process's clock there (it keeps running), so they are fresh. Not an application setting: it must exist before
    // the host does (the runtime's configuration itself runs on this clock).
    if (long.TryParse(Environment.GetEnvironmentVariable("APPRUNTIME_TEST_CLOCK"), System.Globalization.CultureInfo.InvariantCulture, out var clock))
        builder.Services.AddSingleton<TimeProvider>(new ShiftedClock(DateTimeOffset.FromUnixTimeSeconds(clock) - TimeProvider.System.GetUtcNow()));
    builder.AddAppRuntime()
        .AddRedisQueues()     // used when AppRuntime:DefaultBackend=Redis
        .AddWebhookTestModule();
    return builder.Build();
});
