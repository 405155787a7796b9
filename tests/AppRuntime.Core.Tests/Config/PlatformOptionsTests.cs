using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AppRuntime.Core.Tests.Config;

/// <summary>The platform's own settings go through the same generated binder and the same single error report as an app's.</summary>
public sealed class PlatformOptionsTests
{
    private static TestRuntime Create(IDictionary<string, string?> settings, string? workersKey = null) => new(b =>
    {
        b.AddQueue<Job>(new QueueDefinition("orders", "Job"));
        b.AddWorkerPool(new WorkerPoolDefinition("orders") { Workers = 2, WorkersConfigKey = workersKey });
        b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
    }, settings);

    [Fact]
    public async Task Every_platform_problem_is_reported_at_once_with_its_key()
    {
        await using var rt = Create(new Dictionary<string, string?>
        {
            ["AppRuntime:DrainTimeout"] = "soon",
            ["AppRuntime:ShutdownTimeout"] = "2.00:00:00",
            ["AppRuntime:RunMode"] = "Forever",
            ["AppRuntime:Pools:Orders:Workers"] = "0",
            ["AppRuntime:Queues:ordrs:Backend"] = "InMemory",
        });

        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);

        var keys = ex.Errors.Select(e => e.KeyPath).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["AppRuntime:DrainTimeout", "AppRuntime:Pools:Orders", "AppRuntime:Pools:Orders:Workers", "AppRuntime:Queues:ordrs", "AppRuntime:RunMode", "AppRuntime:ShutdownTimeout"], keys);
        Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:ShutdownTimeout" && e.Message == "must be between 00:00:00 and 1.00:00:00.");
        Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:Queues:ordrs" && e.Message.EndsWith("did you mean 'orders'?", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:Pools:Orders" && e.Message.EndsWith("did you mean 'orders'?", StringComparison.Ordinal));
        Assert.Equal(RuntimeState.Faulted, rt.Runtime.State);
    }

    [Fact]
    public async Task A_pools_own_worker_key_is_its_one_key_and_is_checked_with_the_rest()
    {
        await using (var rt = Create(new Dictionary<string, string?> { ["Shop:Workers"] = "5" }, workersKey: "Shop:Workers"))
        {
            await rt.StartAsync();
            Assert.Equal(5, rt.Runtime.Supervisor.GetPool("orders").GetSnapshot().DesiredWorkers);
        }

        await using (var rt = Create(new Dictionary<string, string?> { ["Shop:Workers"] = "many", ["AppRuntime:Pools:orders:Workers"] = "3" }, workersKey: "Shop:Workers"))
        {
            var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);
            Assert.Contains(ex.Errors, e => e.KeyPath == "Shop:Workers" && e.Message.Contains("'many' is not a worker count", StringComparison.Ordinal));
            Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:Pools:orders:Workers" && e.Message.Contains("takes its worker count from Shop:Workers", StringComparison.Ordinal));
        }

        await using (var rt = Create(new Dictionary<string, string?>(), workersKey: "Shop:Workers"))
        {
            await rt.StartAsync();
            Assert.Equal(2, rt.Runtime.Supervisor.GetPool("orders").GetSnapshot().DesiredWorkers); // the declared default
        }
    }

    [Fact]
    public async Task Values_set_in_code_win_over_configuration_and_survive_a_reload()
    {
        await using var rt = new TestRuntime(b => { }, new Dictionary<string, string?> { ["AppRuntime:DrainTimeout"] = "00:00:05" },
            options: o => o.BackpressureCheckInterval = TimeSpan.FromMilliseconds(7));
        await rt.StartAsync();
        var section = rt.Provider.GetRequiredService<IConfigSection<AppRuntimeOptions>>();
        Assert.Equal(TimeSpan.Zero, section.Current.DrainTimeout); // TestRuntime sets it in code
        Assert.Equal(TimeSpan.FromMilliseconds(7), section.Current.BackpressureCheckInterval);

        rt.Configuration["AppRuntime:BackpressureCheckInterval"] = "00:00:01";
        Assert.True(rt.Control.ReloadConfiguration().Value!.Applied);
        Assert.Equal(TimeSpan.FromMilliseconds(7), section.Current.BackpressureCheckInterval);
    }

    [Fact]
    public async Task IOptionsSnapshot_of_a_section_resolves_in_a_scope_and_keeps_its_value_for_the_scope()
    {
        await using var rt = new TestRuntime(b => b.AddConfigSection(new ConfigSectionDefinition<Probe>("Probe", (s, _) => new Probe { Value = s["Value"] })),
            new Dictionary<string, string?> { ["Probe:Value"] = "one" });
        await rt.StartAsync();

        using var scope = rt.Provider.CreateScope();
        var snapshot = scope.ServiceProvider.GetRequiredService<IOptionsSnapshot<Probe>>();
        Assert.Equal("one", snapshot.Value.Value);

        rt.Configuration["Probe:Value"] = "two";
        Assert.True(rt.Control.ReloadConfiguration().Value!.Applied);
        Assert.Equal("one", snapshot.Value.Value); // a snapshot holds for its scope
        using var next = rt.Provider.CreateScope();
        Assert.Equal("two", next.ServiceProvider.GetRequiredService<IOptionsSnapshot<Probe>>().Value.Value);
    }

    public sealed class Probe
    {
        public string? Value { get; init; }
    }
}
