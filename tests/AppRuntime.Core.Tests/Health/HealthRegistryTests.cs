using AppRuntime.TestSupport;

namespace AppRuntime.Core.Tests.Health;

public sealed class HealthRegistryTests
{
    private sealed class Fixed(string name, HealthScope scope, HealthResult result) : IHealthContributor
    {
        public string Name => name;
        public HealthScope Scope => scope;
        public ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken) => ValueTask.FromResult(result);
    }

    private sealed class Throwing : IHealthContributor
    {
        public string Name => "throws";
        public HealthScope Scope => HealthScope.None;
        public ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("disk probe crashed");
    }

    [Fact]
    public async Task Aggregates_the_worst_status_per_view()
    {
        var registry = new HealthRegistry();
        registry.Add(new Fixed("live-ok", HealthScope.Liveness, HealthResult.Healthy()));
        registry.Add(new Fixed("ready-degraded", HealthScope.Readiness, HealthResult.Degraded("slow mailbox")));
        registry.Add(new Fixed("detail-unhealthy", HealthScope.None, HealthResult.Unhealthy("cache cold")));

        var live = await registry.CheckLivenessAsync();
        var ready = await registry.CheckReadinessAsync();
        var all = await registry.CheckAsync();

        Assert.Equal(HealthStatus.Healthy, live.Status);
        Assert.Equal(["live-ok"], live.Entries.Select(e => e.Name));
        Assert.Equal(HealthStatus.Degraded, ready.Status);
        Assert.Equal("slow mailbox", Assert.Single(ready.Entries).Result.Description);
        Assert.Equal(HealthStatus.Unhealthy, all.Status);
        Assert.Equal(3, all.Entries.Count);
    }

    [Fact]
    public async Task A_contributor_that_throws_is_reported_unhealthy_with_its_error()
    {
        var registry = new HealthRegistry();
        registry.Add(new Throwing());

        var report = await registry.CheckAsync();

        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.Contains("disk probe crashed", Assert.Single(report.Entries).Result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_is_unhealthy_before_start_and_healthy_when_running()
    {
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("h", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("h"));
            b.AddHandler<Job>("h", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
            b.AddHealthContributor(_ => new Fixed("app", HealthScope.All, HealthResult.Healthy("app ok")));
        });

        var before = await rt.Health.CheckReadinessAsync();
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal(HealthStatus.Healthy, (await rt.Health.CheckLivenessAsync()).Status);

        await rt.StartAsync();
        var after = await rt.Health.CheckReadinessAsync();

        Assert.Equal(HealthStatus.Healthy, after.Status);
        Assert.Contains(after.Entries, e => e.Name == "app");
        Assert.Contains(after.Entries, e => e.Name == "runtime:readiness");
    }

    [Fact]
    public async Task Faulted_start_makes_liveness_unhealthy()
    {
        await using var rt = new TestRuntime(b => b.AddHandler<Job>("nowhere", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask)));

        await Assert.ThrowsAsync<InvalidOperationException>(rt.StartAsync);

        var live = await rt.Health.CheckLivenessAsync();
        Assert.Equal(HealthStatus.Unhealthy, live.Status);
        Assert.Contains("nowhere", live.Entries.Single().Result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_faulted_worker_degrades_readiness_with_its_error()
    {
        var backend = new InterceptingBackend("Throwing", new InMemoryQueueBackend(TimeProvider.System), () => new IOException("queue unreachable"));
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("broken", "Job") { Backend = "Throwing" });
            b.AddWorkerPool(new WorkerPoolDefinition("broken") { RestartDelay = TimeSpan.FromHours(1), MaxRestartDelay = TimeSpan.FromHours(1) });
            b.AddHandler<Job>("broken", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        }, services: s => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<ITaskQueueBackend>(s, backend));
        await rt.StartAsync();

        await Eventually.TrueAsync(async () => (await rt.Health.CheckReadinessAsync()).Status == HealthStatus.Degraded, "readiness degraded by the faulted worker");
        var workers = (await rt.Health.CheckReadinessAsync()).Entries.Single(e => e.Name == "workers");
        Assert.Contains("broken#1", workers.Result.Data!.Keys);
        Assert.Contains("queue unreachable", workers.Result.Data["broken#1"], StringComparison.Ordinal);
    }
}
