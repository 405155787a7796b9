using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Testing;

/// <summary>How <see cref="AppRuntimeHarness"/> builds the application's host.</summary>
public sealed class AppRuntimeHarnessOptions
{
    /// <summary>
    /// Configuration values (<c>Section:Key</c> → value), on top of <see cref="ConfigureConfiguration"/>. The harness adds
    /// <c>AppRuntime:DrainTimeout=00:00:00</c> and <c>AppRuntime:ShutdownTimeout=00:00:05</c> unless set here.
    /// </summary>
    public IDictionary<string, string?> Configuration { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Adds configuration sources first (for example the application's <c>appsettings.json</c>); <see cref="Configuration"/> wins.</summary>
    public Action<IConfigurationBuilder>? ConfigureConfiguration { get; set; }

    /// <summary>
    /// Runs after the application's composition: registrations made here win (replace a service with a fake:
    /// <c>services.AddSingleton&lt;IStore&gt;(fake)</c>).
    /// </summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>
    /// True (the default): the application's sources run, on the fake clock. False: they are left out (with the outcome observers
    /// they register), and the test publishes every task itself.
    /// </summary>
    public bool RunSources { get; set; } = true;

    /// <summary>The fake clock's start. Default 2030-01-01 00:00 UTC.</summary>
    public DateTimeOffset StartTime { get; set; } = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Durable backends the harness stands in for with recording in-memory queues (default <c>Redis</c>): a queue that names one,
    /// in its declaration or in configuration, runs in memory, and its tasks go through their serializer as they would in the real
    /// backend. Backends pinned by a declaration are added automatically.
    /// </summary>
    public ISet<string> DurableBackends { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Redis" };

    /// <summary>How long (real time) <see cref="AppRuntimeHarness.RunUntilIdleAsync"/> waits before it fails with what is still busy. Default 30 s.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The lowest level kept in <see cref="AppRuntimeHarness.Logs"/>. Default <see cref="LogLevel.Information"/>.</summary>
    public LogLevel MinimumLogLevel { get; set; } = LogLevel.Information;
}
