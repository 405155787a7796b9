using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>Counts handled tasks and completes when a target is reached (one pending batch at a time).</summary>
public static class Countdown
{
    private static int s_remaining;
    private static TaskCompletionSource s_done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static Task Start(int count)
    {
        s_done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref s_remaining, count);
        return s_done.Task;
    }

    public static void Signal()
    {
        if (Interlocked.Decrement(ref s_remaining) == 0)
            s_done.TrySetResult();
    }
}

/// <summary>The handler shape the generator emits a factory for: constructor-injected, created per task.</summary>
public sealed class CountingHandler(TimeProvider time) : ITaskHandler<BenchTask>
{
    public TimeProvider Time { get; } = time;

    public ValueTask HandleAsync(BenchTask task, TaskContext context, CancellationToken cancellationToken)
    {
        Countdown.Signal();
        return default;
    }
}

/// <summary>Builds and starts an AppRuntime host the way an application does (optionally without a worker pool).</summary>
public static class RuntimeFixture
{
    public static async Task<IHost> StartAsync(int workers, int capacity = 100_000)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        var runtime = builder.AddAppRuntime()
            .AddQueue<BenchTask>(new QueueDefinition("bench", "bench-task") { Capacity = capacity });
        if (workers > 0)
        {
            // The factory the generated Add<Module>() registers: explicit constructor call, dependencies from the task's scope.
            runtime.AddWorkerPool(new WorkerPoolDefinition("bench") { Workers = workers })
                .AddHandler<BenchTask>("bench", static sp => new CountingHandler(sp.GetRequiredService<TimeProvider>()));
        }
        var host = builder.Build();
        await host.StartAsync().ConfigureAwait(false);
        return host;
    }

    public static ActivityListener Listen() => SideBySide.Tracing.ListenToAppRuntime();
}
