using System.Collections.Concurrent;
using AppRuntime.Redis.TestConsumer;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>The runtime (AppRuntime.Core) running a queue on Redis chosen by configuration alone.</summary>
[Trait("Category", "Integration")]
public sealed class RedisRuntimeIntegrationTests : IAsyncLifetime
{
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer? _inspect;
    private ServiceProvider? _provider;

    public async Task InitializeAsync() => _inspect = await RedisTestServer.ConnectAsync();

    public async Task DisposeAsync()
    {
        if (_provider is not null)
        {
            var runtime = _provider.GetRequiredService<RuntimeManager>();
            if (runtime.State == RuntimeState.Running)
                await runtime.StopAsync(CancellationToken.None);
            await _provider.DisposeAsync();
        }
        if (_inspect is not null)
        {
            await RedisTestServer.DeleteKeysAsync(_inspect, _prefix);
            await _inspect.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_queue_whose_backend_is_Redis_by_configuration_runs_through_the_runtime_on_redis()
    {
        const int total = 200;
        var handled = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var runtime = await StartAsync(TimeSpan.FromSeconds(30), workers: 4, (task, context) =>
        {
            handled.AddOrUpdate(context.TaskId, 1, (_, n) => n + 1);
            return ValueTask.CompletedTask;
        });
        var publisher = _provider!.GetRequiredService<ITaskPublisher<WorkItem>>();

        for (var i = 0; i < total; i++)
            await publisher.PublishAsync(new WorkItem(i, $"order {i}"));

        await Eventually.TrueAsync(() => handled.Count == total, "the runtime's workers handle every task", TimeSpan.FromSeconds(60));
        var queue = runtime.GetQueue<WorkItem>("orders");
        Assert.Equal("Redis", queue.Backend);
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Acked == total, "every task is acked in Redis", TimeSpan.FromSeconds(30));
        Assert.Equal(total.ToString(System.Globalization.CultureInfo.InvariantCulture),
            (string?)await _inspect!.GetDatabase().HashGetAsync($"{_prefix}:{{orders}}:stats", "acked"));
        Assert.All(handled.Values, n => Assert.Equal(1, n));

        var readiness = await _provider!.GetRequiredService<HealthRegistry>().CheckReadinessAsync();
        Assert.Equal(HealthStatus.Healthy, Assert.Single(readiness.Entries, e => e.Name == "redis").Result.Status);
    }

    [Fact]
    public async Task A_handler_running_longer_than_the_visibility_timeout_runs_once_because_the_worker_heartbeats()
    {
        // Two seconds leave a renewal (sent once less than 1.33 s remain) a margin of well over a second on a loaded CI machine.
        var visibility = TimeSpan.FromSeconds(2);
        var starts = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var finished = 0;
        var runtime = await StartAsync(visibility, workers: 3, async (task, context) =>
        {
            starts.AddOrUpdate(context.TaskId, 1, (_, n) => n + 1);
            // The work itself: three visibility timeouts. Without renewals another worker would start the task after one.
            await Task.Delay(visibility * 3);
            Interlocked.Increment(ref finished);
        });
        var publisher = _provider!.GetRequiredService<ITaskPublisher<WorkItem>>();

        var id = await publisher.PublishAsync(new WorkItem(1, "slow"));

        await Eventually.TrueAsync(() => Volatile.Read(ref finished) == 1, "the slow handler finishes", TimeSpan.FromSeconds(30));
        var queue = runtime.GetQueue<WorkItem>("orders");
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Acked == 1, "the task is acked", TimeSpan.FromSeconds(10));
        Assert.Equal(1, starts[id]);
        Assert.Single(starts);
        var stats = await queue.GetStatsAsync();
        Assert.Equal((0L, 0L, 0L), (stats.Depth, stats.InFlight, stats.Nacked));
    }

    [Fact]
    public async Task On_stop_the_tasks_an_instance_leased_ahead_go_back_to_the_queue_at_once()
    {
        // Another process's view of the queue, through its own connection; it also publishes the ten tasks before the instance starts.
        using var other = await RedisTestServer.ConnectAsync();
        var observer = new RedisQueueBackend(other, new RedisQueueOptions { KeyPrefix = _prefix }).Create(
            new QueueDefinition("orders", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromMinutes(5) }, WorkItems.Serializer);
        for (var i = 0; i < 10; i++)
            await observer.PublishAsync(new TaskEnvelope<WorkItem>($"t{i}", WorkItems.TaskType, new WorkItem(i, $"order {i}"), DateTimeOffset.UtcNow));

        // One worker and a prefetch of 8: the worker holds one task (blocked), the queue instance leases up to 8 more ahead of it.
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runtime = await StartAsync(TimeSpan.FromMinutes(5), workers: 1, (_, _) => ValueTask.CompletedTask, prefetch: 8,
            shutdownTimeout: TimeSpan.FromMilliseconds(500), handler: new HoldingHandler(holding));
        await holding.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await observer.GetStatsAsync()).InFlight == 9, "the instance leased 8 tasks ahead of its worker");

        await runtime.StopAsync(CancellationToken.None);

        // Without waiting for the 5-minute visibility timeout: nothing is leased any more, all 10 are ready for another instance.
        var stats = await observer.GetStatsAsync();
        Assert.Equal((0L, 10L), (stats.InFlight, stats.Depth));
        await ((IAsyncDisposable)observer).DisposeAsync();
    }

    [Fact]
    public async Task On_stop_an_instance_drains_its_own_tasks_in_hand_and_leased_ahead_and_not_the_shared_queue()
    {
        // Another instance, through its own connection: it holds two leases (its handlers are busy), and publishes.
        using var other = await RedisTestServer.ConnectAsync();
        var otherQueue = new RedisQueueBackend(other, new RedisQueueOptions { KeyPrefix = _prefix }).Create(
            new QueueDefinition("orders", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromMinutes(5) }, WorkItems.Serializer);
        TaskEnvelope<WorkItem> Task(string id, int n) => new(id, WorkItems.TaskType, new WorkItem(n, id), DateTimeOffset.UtcNow);
        await otherQueue.PublishAsync(Task("other-0", 0));
        await otherQueue.PublishAsync(Task("other-1", 1));
        var held = new[] { await ConsumeWithin(otherQueue), await ConsumeWithin(otherQueue) };
        Assert.Equal(["other-0", "other-1"], held.Select(l => l.Envelope.Id));
        for (var i = 0; i < 3; i++)
            await otherQueue.PublishAsync(Task($"own-{i}", i));

        // This instance: one worker and a prefetch of 2, so its first fetch leases all three own-* tasks: one in hand, two ahead.
        // Each takes 300 ms. The drain may wait 30 s.
        var started = new ConcurrentQueue<string>();
        var done = new ConcurrentQueue<string>();
        var runtime = await StartAsync(TimeSpan.FromSeconds(30), workers: 1, async (_, context) =>
        {
            started.Enqueue(context.TaskId);
            await System.Threading.Tasks.Task.Delay(300);
            done.Enqueue(context.TaskId);
        }, prefetch: 2, drainTimeout: TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => started.Contains("own-0"), "the worker has own-0 in hand");
        var queue = runtime.GetQueue<WorkItem>("orders");
        Assert.Equal(2, ((ISharedTaskQueue)queue).Buffered);
        // Five more tasks that nobody has taken yet.
        for (var i = 0; i < 5; i++)
            await otherQueue.PublishAsync(Task($"later-{i}", i));

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await runtime.StopAsync(CancellationToken.None);
        stopwatch.Stop();

        // It finished its own three (the one in hand and the two leased ahead), took nothing new, and did not wait for the other
        // instance's leases (5 minutes) nor for the ready tasks to go.
        Assert.Equal(["own-0", "own-1", "own-2"], done);
        Assert.Equal(["own-0", "own-1", "own-2"], started);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"the stop took {stopwatch.Elapsed}, waiting for work that was not its own");
        var db = _inspect!.GetDatabase();
        var ready = (await db.ListRangeAsync($"{_prefix}:{{orders}}:ready")).Select(v => (string)v!).Order(StringComparer.Ordinal);
        Assert.Equal(["later-0", "later-1", "later-2", "later-3", "later-4"], ready);
        var leased = (await db.SortedSetRangeByRankAsync($"{_prefix}:{{orders}}:leases")).Select(v => (string)v!).Order(StringComparer.Ordinal);
        Assert.Equal(["other-0", "other-1"], leased);
        Assert.Equal("3", (string?)await db.HashGetAsync($"{_prefix}:{{orders}}:stats", "acked"));
        await ((IAsyncDisposable)otherQueue).DisposeAsync();
    }

    [Fact]
    public async Task Tasks_a_source_published_and_another_instance_settled_are_forgotten_so_the_publisher_drains()
    {
        // This instance runs the source only (no pool): it publishes 20 tasks. Another instance, through its own connection, takes
        // every one and settles it (18 acked, 2 dead-lettered): this one never hears of it, except by asking Redis.
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [RedisAppRuntimeBuilderExtensions.ConfigurationKey] = RedisTestServer.Endpoint,
            [RedisAppRuntimeBuilderExtensions.KeyPrefixKey] = _prefix,
            ["AppRuntime:Queues:orders:Backend"] = "Redis",
        });
        var services = new ServiceCollection();
        services.AddAppRuntime(configuration, o => o.ShutdownTimeout = TimeSpan.FromSeconds(10))
            .AddRedisQueues()
            .AddQueue(new QueueDefinition("orders", WorkItems.TaskType), WorkItems.Serializer)
            .AddSource<WorkItem>(new SourceDefinition("feed", "orders"), _ => new ListSource([.. Enumerable.Range(0, 20).Select(n => new WorkItem(n, $"item {n}"))]));
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var runtime = _provider.GetRequiredService<RuntimeManager>();
        await runtime.StartAsync(CancellationToken.None);

        using var other = await RedisTestServer.ConnectAsync();
        var otherQueue = new RedisQueueBackend(other, new RedisQueueOptions { KeyPrefix = _prefix }).Create(
            new QueueDefinition("orders", WorkItems.TaskType), WorkItems.Serializer);
        for (var i = 0; i < 20; i++)
        {
            var lease = await ConsumeWithin(otherQueue);
            Assert.True(i < 18 ? await otherQueue.AckAsync(lease) : await otherQueue.DeadLetterAsync(lease, "permanent"));
        }
        Assert.False(await runtime.IsDrainedAsync(), "right after the other instance settled them, this one still counts them");

        // It asks Redis every 5 s which of its tasks are still pending: then it has nothing left to wait for.
        await Eventually.TrueAsync(async () => await runtime.IsDrainedAsync(), "the publisher drains", TimeSpan.FromSeconds(20));
        await ((IAsyncDisposable)otherQueue).DisposeAsync();
    }

    [Fact]
    public async Task A_source_asks_whether_many_tasks_are_settled_in_batches_and_gets_the_answers_one_by_one_lookups_give()
    {
        // The source publishes 20 tasks; another instance acks the first 10. The source then asks about its 20 ids and 1,000 ids it
        // never published (three batches of at most 500): the batched answers equal the one-by-one answers, in order.
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [RedisAppRuntimeBuilderExtensions.ConfigurationKey] = RedisTestServer.Endpoint,
            [RedisAppRuntimeBuilderExtensions.KeyPrefixKey] = _prefix,
            ["AppRuntime:Queues:orders:Backend"] = "Redis",
        });
        var source = new ListSource([.. Enumerable.Range(0, 20).Select(n => new WorkItem(n, $"item {n}"))]);
        var services = new ServiceCollection();
        services.AddAppRuntime(configuration, o => o.ShutdownTimeout = TimeSpan.FromSeconds(10))
            .AddRedisQueues()
            .AddQueue(new QueueDefinition("orders", WorkItems.TaskType), WorkItems.Serializer)
            .AddSource<WorkItem>(new SourceDefinition("feed", "orders"), _ => source);
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        await _provider.GetRequiredService<RuntimeManager>().StartAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => source.Published.Count == 20, "the source published its 20 tasks");

        using var other = await RedisTestServer.ConnectAsync();
        var otherQueue = new RedisQueueBackend(other, new RedisQueueOptions { KeyPrefix = _prefix }).Create(
            new QueueDefinition("orders", WorkItems.TaskType), WorkItems.Serializer);
        var acked = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 10; i++)
        {
            var lease = await ConsumeWithin(otherQueue);
            Assert.True(await otherQueue.AckAsync(lease));
            acked.Add(lease.Envelope.Id);
        }

        List<string> ids = [.. source.Published, .. Enumerable.Range(0, 1000).Select(i => $"never-{i}")];
        var batched = await source.Context!.AreUnsettledAsync(ids);
        var oneByOne = new bool[ids.Count];
        for (var i = 0; i < ids.Count; i++)
            oneByOne[i] = await source.Context.IsUnsettledAsync(ids[i]);
        Assert.Equal(oneByOne, batched);
        Assert.Equal(ids.Select(id => source.Published.Contains(id) && !acked.Contains(id)), batched);
        Assert.Equal(10, batched.Count(pending => pending));
        await ((IAsyncDisposable)otherQueue).DisposeAsync();
    }

    /// <summary>Publishes a fixed list, reports it has seen all its input, then waits until stopped; keeps its context and the ids it published.</summary>
    private sealed class ListSource(IReadOnlyList<WorkItem> items) : ITaskSource<WorkItem>
    {
        public ITaskSourceContext<WorkItem>? Context { get; private set; }

        public System.Collections.Concurrent.ConcurrentQueue<string> Published { get; } = new();

        public async Task RunAsync(ITaskSourceContext<WorkItem> context, CancellationToken cancellationToken)
        {
            Context = context;
            foreach (var item in items)
                Published.Enqueue(await context.PublishAsync(item, null, cancellationToken));
            context.ReportCaughtUp();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    private static async Task<TaskLease<WorkItem>> ConsumeWithin(ITaskQueue<WorkItem> queue)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await queue.ConsumeAsync(cts.Token);
    }

    private async Task<RuntimeManager> StartAsync(TimeSpan visibility, int workers, Func<WorkItem, TaskContext, ValueTask> handle, int prefetch = 0,
        TimeSpan? shutdownTimeout = null, ITaskHandler<WorkItem>? handler = null, TimeSpan? drainTimeout = null)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [RedisAppRuntimeBuilderExtensions.ConfigurationKey] = RedisTestServer.Endpoint,
            [RedisAppRuntimeBuilderExtensions.KeyPrefixKey] = _prefix,
            [RedisAppRuntimeBuilderExtensions.PrefetchKey] = prefetch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AppRuntime:Queues:orders:Backend"] = "Redis",
        });
        var services = new ServiceCollection();
        services.AddAppRuntime(configuration, o =>
            {
                o.DrainTimeout = drainTimeout ?? TimeSpan.Zero;
                o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(10);
            })
            .AddRedisQueues()
            .AddQueue(new QueueDefinition("orders", WorkItems.TaskType) { VisibilityTimeout = visibility }, WorkItems.Serializer)
            .AddWorkerPool(new WorkerPoolDefinition("orders") { Workers = workers })
            .AddHandler<WorkItem>("orders", _ => handler ?? new DelegateHandler(handle));
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        var runtime = _provider.GetRequiredService<RuntimeManager>();
        await runtime.StartAsync(CancellationToken.None);
        return runtime;
    }

    /// <summary>Holds every task until the runtime cancels it on stop.</summary>
    private sealed class HoldingHandler(TaskCompletionSource holding) : ITaskHandler<WorkItem>
    {
        public async ValueTask HandleAsync(WorkItem task, TaskContext context, CancellationToken cancellationToken)
        {
            holding.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    private sealed class DelegateHandler(Func<WorkItem, TaskContext, ValueTask> handle) : ITaskHandler<WorkItem>
    {
        public ValueTask HandleAsync(WorkItem task, TaskContext context, CancellationToken cancellationToken) => handle(task, context);
    }
}
