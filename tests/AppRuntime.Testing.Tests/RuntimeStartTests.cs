using Microsoft.Extensions.Logging;

namespace AppRuntime.Testing.Tests;

/// <summary>What the runtime says at start about a composition that cannot run anything (issue #20, item 2).</summary>
public sealed class RuntimeStartTests
{
    [Fact]
    public async Task A_runtime_started_without_any_module_logs_a_warning_that_names_the_missing_call()
    {
        await using var app = await AppRuntimeHarness.StartAsync(_ => { });

        var warning = Assert.Single(app.Logs, l => l.Level == LogLevel.Warning && l.Message.Contains("no application module", StringComparison.Ordinal));
        Assert.Contains("Add<Module>()", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_runtime_started_with_its_module_does_not()
    {
        await using var app = await AppRuntimeHarness.StartAsync(runtime => runtime.AddShopModule(), o => o.RunSources = false);

        Assert.DoesNotContain(app.Logs, l => l.Message.Contains("no application module", StringComparison.Ordinal));
    }
}
