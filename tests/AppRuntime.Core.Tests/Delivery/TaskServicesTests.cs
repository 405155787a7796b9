using System.Collections.Concurrent;
using AppRuntime.Internal;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Core.Tests.Delivery;

/// <summary>
/// The services a handler gets: singletons from the root, a DI scope per task opened only when a non-singleton is resolved,
/// and everything the scope created disposed when the handler returns.
/// </summary>
public sealed class TaskServicesTests
{
    private sealed class Counter
    {
        public int Created;
        public int Disposed;
    }

    private sealed class ScopedThing : IDisposable
    {
        private readonly Counter _counter;

        public ScopedThing(Counter counter)
        {
            _counter = counter;
            Interlocked.Increment(ref counter.Created);
        }

        public bool IsDisposed { get; private set; }

        public void Dispose()
        {
            IsDisposed = true;
            Interlocked.Increment(ref _counter.Disposed);
        }
    }

    private sealed class TransientThing(Counter counter) : IDisposable
    {
        public void Dispose() => Interlocked.Increment(ref counter.Disposed);
    }

    private sealed class SingletonThing;

    private sealed record Seen(int Job, ScopedThing? Scoped, ScopedThing? ScopedAgain, object? Singleton, bool ScopeOpened, IServiceProvider Services);

    private static TestRuntime Create(Func<IServiceProvider, TaskContext, Job, Seen> handle, ConcurrentQueue<Seen> seen, Action<IServiceCollection> services, int workers = 1)
        => new(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("work", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("work") { Workers = workers });
            b.AddHandler<Job>("work", sp => new DelegateHandler<Job>((job, context, _) =>
            {
                seen.Enqueue(handle(sp, context, job));
                return ValueTask.CompletedTask;
            }));
        }, services: services);

    private static async Task PublishAndWaitAsync(TestRuntime rt, ConcurrentQueue<Seen> seen, int count)
    {
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        for (var i = 1; i <= count; i++)
            await publisher.PublishAsync(new Job(i));
        await Eventually.TrueAsync(() => seen.Count == count, $"{count} tasks handled");
        await Eventually.TrueAsync(async () => (await rt.Queue<Job>("work").GetStatsAsync()).Acked == count, $"{count} tasks acked");
    }

    [Fact]
    public async Task A_scoped_service_is_one_instance_per_task_and_is_disposed_when_its_handler_returned()
    {
        var counter = new Counter();
        var seen = new ConcurrentQueue<Seen>();
        await using var rt = Create((sp, context, job) => new Seen(job.Number, sp.GetRequiredService<ScopedThing>(),
                context.Services.GetRequiredService<ScopedThing>(), null, TaskServices<Job>.HasScope(context), context.Services), seen,
            s => s.AddSingleton(counter).AddScoped<ScopedThing>());
        await rt.StartAsync();
        await PublishAndWaitAsync(rt, seen, 3);

        var all = seen.ToArray();
        Assert.All(all, s => Assert.Same(s.Scoped, s.ScopedAgain));               // one instance within a task
        Assert.Equal(3, all.Select(s => s.Scoped).Distinct().Count());            // a new one for every task
        Assert.All(all, s => Assert.True(s.ScopeOpened));
        Assert.All(all, s => Assert.True(s.Scoped!.IsDisposed));                  // the task's scope ended with the task
        Assert.Equal(3, counter.Disposed);
    }

    [Fact]
    public async Task A_transient_disposable_the_handler_resolves_is_disposed_after_the_task_not_kept_by_the_root()
    {
        var counter = new Counter();
        var seen = new ConcurrentQueue<Seen>();
        await using var rt = Create((sp, context, job) =>
        {
            _ = sp.GetRequiredService<TransientThing>();
            return new Seen(job.Number, null, null, null, TaskServices<Job>.HasScope(context), context.Services);
        }, seen, s => s.AddSingleton(counter).AddTransient<TransientThing>());
        await rt.StartAsync();
        await PublishAndWaitAsync(rt, seen, 4);

        // Resolved from the root, a transient disposable would live (undisposed) until the host ends: the leak this guards against.
        await Eventually.TrueAsync(() => Volatile.Read(ref counter.Disposed) == 4, "each task's transient disposed with its scope");
        Assert.All(seen, s => Assert.True(s.ScopeOpened));
    }

    [Fact]
    public async Task A_handler_that_needs_only_singletons_runs_without_a_scope_and_gets_the_roots_instances()
    {
        var singleton = new SingletonThing();
        var seen = new ConcurrentQueue<Seen>();
        await using var rt = Create((sp, context, job) =>
        {
            var logger = sp.GetRequiredService<ILogger<TaskServicesTests>>(); // an open generic singleton (ILogger<>)
            Assert.NotNull(logger);
            Assert.NotNull(sp.GetRequiredService<ITaskPublisher<Job>>());
            return new Seen(job.Number, null, null, context.Services.GetRequiredService<SingletonThing>(), TaskServices<Job>.HasScope(context),
                context.Services);
        }, seen, s => s.AddSingleton(singleton));
        await rt.StartAsync();
        await PublishAndWaitAsync(rt, seen, 3);

        Assert.All(seen, s => Assert.Same(singleton, s.Singleton));
        Assert.All(seen, s => Assert.False(s.ScopeOpened));
        Assert.Same(rt.Provider.GetRequiredService<TimeProvider>(), seen.First().Services.GetRequiredService<TimeProvider>());
    }

    [Fact]
    public async Task The_last_registration_decides_a_singleton_registered_again_as_scoped_is_scoped()
    {
        var counter = new Counter();
        var seen = new ConcurrentQueue<Seen>();
        await using var rt = Create((sp, context, job) => new Seen(job.Number, sp.GetRequiredService<ScopedThing>(), null, null,
            TaskServices<Job>.HasScope(context), context.Services), seen,
            s => s.AddSingleton(counter).AddSingleton(new ScopedThing(new Counter())).AddScoped<ScopedThing>());
        await rt.StartAsync();
        await PublishAndWaitAsync(rt, seen, 2);

        Assert.Equal(2, seen.Select(s => s.Scoped).Distinct().Count());
        Assert.Equal(2, counter.Created);
        Assert.All(seen, s => Assert.True(s.ScopeOpened));
    }

    [Fact]
    public async Task Resolving_from_several_threads_at_once_opens_one_scope()
    {
        var counter = new Counter();
        var services = new ServiceCollection().AddSingleton(counter).AddScoped<ScopedThing>();
        await using var root = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        await using var queue = new InMemoryTaskQueue<Job>(new QueueDefinition("work", "Job"), TimeProvider.System);
        var task = new TaskServices<Job>(queue, root,
            root.GetRequiredService<IServiceScopeFactory>(), new SingletonServices(services)).For(new TaskEnvelope<Job>("t-1", "Job", new Job(1), DateTimeOffset.UtcNow));

        using var start = new Barrier(4);
        var things = new ScopedThing[4];
        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            things[i] = task.Services.GetRequiredService<ScopedThing>();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Single(things.Distinct());
        await TaskServices<Job>.DisposeAsync(task);
        Assert.Equal(1, counter.Disposed);   // the one scope's instance; a scope lost in the race created nothing
        Assert.True(things[0].IsDisposed);
    }

    [Fact]
    public async Task Services_used_after_the_handler_returned_fail_instead_of_opening_a_scope_nobody_disposes()
    {
        var counter = new Counter();
        var seen = new ConcurrentQueue<Seen>();
        await using var rt = Create((sp, context, job) => new Seen(job.Number, null, null, null, false, context.Services), seen,
            s => s.AddSingleton(counter).AddScoped<ScopedThing>().AddSingleton(new SingletonThing()));
        await rt.StartAsync();
        await PublishAndWaitAsync(rt, seen, 1);

        var late = seen.Single().Services;
        Assert.Throws<ObjectDisposedException>(() => late.GetService(typeof(ScopedThing)));
        Assert.Equal(0, counter.Created);
        Assert.NotNull(late.GetService(typeof(SingletonThing)));   // a singleton needs no scope and outlives the task anyway
    }

    [Fact]
    public async Task A_keyed_scoped_service_comes_from_the_tasks_scope_through_the_context_and_not_after_the_handler_returned()
    {
        var counter = new Counter();
        var seen = new ConcurrentQueue<Seen>();
        await using var rt = Create((sp, context, job) =>
        {
            Assert.Same(context, context.Services);   // the runtime's context is the task's service provider
            var keyed = context.Services.GetRequiredKeyedService<ScopedThing>("k");
            Assert.Same(keyed, sp.GetRequiredKeyedService<ScopedThing>("k"));
            return new Seen(job.Number, keyed, null, null, TaskServices<Job>.HasScope(context), context.Services);
        }, seen, s => s.AddSingleton(counter).AddKeyedScoped<ScopedThing>("k"));
        await rt.StartAsync();
        await PublishAndWaitAsync(rt, seen, 2);

        Assert.Equal(2, seen.Select(s => s.Scoped).Distinct().Count());   // one per task
        Assert.All(seen, s => Assert.True(s.ScopeOpened));
        Assert.All(seen, s => Assert.True(s.Scoped!.IsDisposed));
        var late = (IKeyedServiceProvider)seen.First().Services;
        Assert.Throws<ObjectDisposedException>(() => late.GetKeyedService(typeof(ScopedThing), "k"));
        Assert.Equal(2, counter.Created);
    }

    [Fact]
    public async Task With_another_container_nothing_counts_as_a_singleton_and_every_task_gets_its_scope()
    {
        // A container that is not Microsoft's may have registered a type again with another lifetime: the descriptors say nothing.
        var services = new ServiceCollection().AddSingleton(new SingletonThing());
        await using var inner = services.BuildServiceProvider();
        var runtime = new RuntimeServices(new ForeignProvider(inner), TimeProvider.System, new TraceService(),
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, () => new AppRuntimeOptions(), services);

        await using var queue = new InMemoryTaskQueue<Job>(new QueueDefinition("work", "Job"), TimeProvider.System);
        var task = runtime.CreateTaskServices(queue)
            .For(new TaskEnvelope<Job>("t-1", "Job", new Job(1), DateTimeOffset.UtcNow));
        Assert.NotNull(task.Services.GetService(typeof(SingletonThing)));
        Assert.True(TaskServices<Job>.HasScope(task));
        await TaskServices<Job>.DisposeAsync(task);
    }

    private sealed class ForeignProvider(IServiceProvider inner) : IServiceProvider
    {
        public object? GetService(Type serviceType) => inner.GetService(serviceType);
    }
}
