using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Core.Tests;

/// <summary>A runtime composed by hand through the registration API, the way generated module code composes it.</summary>
internal sealed class TestRuntime : IAsyncDisposable
{
    private ServiceProvider? _provider;

    public TestRuntime(Action<IAppRuntimeBuilder> compose, IDictionary<string, string?>? settings = null, TimeProvider? time = null,
        Action<AppRuntimeOptions>? options = null, Action<IServiceCollection>? services = null)
    {
        Configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        if (settings is not null)
            Configuration.AddInMemoryCollection(settings);
        Services = new ServiceCollection();
        if (time is not null)
            Services.AddSingleton(time);
        services?.Invoke(Services);
        Builder = Services.AddAppRuntime(Configuration, o =>
        {
            o.DrainTimeout = TimeSpan.Zero;
            o.ShutdownTimeout = TimeSpan.FromSeconds(10);
            options?.Invoke(o);
        });
        compose(Builder);
    }

    public Microsoft.Extensions.Configuration.ConfigurationManager Configuration { get; }

    public ServiceCollection Services { get; }

    public IAppRuntimeBuilder Builder { get; }

    public IServiceProvider Provider => _provider ??= Services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

    public RuntimeManager Runtime => Provider.GetRequiredService<RuntimeManager>();

    public ControlPlaneService Control => Provider.GetRequiredService<ControlPlaneService>();

    public HealthRegistry Health => Provider.GetRequiredService<HealthRegistry>();

    public AppRuntime.ConfigurationManager Config => Provider.GetRequiredService<AppRuntime.ConfigurationManager>();

    public Task StartAsync() => Runtime.StartAsync(CancellationToken.None);

    public Task StopAsync(CancellationToken cancellationToken = default) => Runtime.StopAsync(cancellationToken);

    public ITaskQueue<T> Queue<T>(string name) => Runtime.GetQueue<T>(name);

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null)
        {
            if (Runtime.State == RuntimeState.Running)
                await Runtime.StopAsync(CancellationToken.None);
            await _provider.DisposeAsync();
        }
    }
}

public sealed record Job(int Number);

/// <summary>A handler whose behaviour each test sets.</summary>
internal sealed class DelegateHandler<T>(Func<T, TaskContext, CancellationToken, ValueTask> handle) : ITaskHandler<T>
{
    public ValueTask HandleAsync(T task, TaskContext context, CancellationToken cancellationToken) => handle(task, context, cancellationToken);
}

/// <summary>A source that publishes a fixed list, then waits until stopped.</summary>
internal sealed class ListSource<T>(IReadOnlyList<T> items) : ITaskSource<T>
{
    public int Published;

    public async Task RunAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken)
    {
        foreach (var item in items)
        {
            await context.PublishAsync(item, null, cancellationToken);
            Interlocked.Increment(ref Published);
        }
        context.ReportCaughtUp(); // the whole list is published
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}

/// <summary>Records what happened to each task.</summary>
internal sealed class Recorder<T> : ITaskOutcomeObserver<T>
{
    public ConcurrentBag<T> Handled { get; } = [];
    public ConcurrentBag<TaskEnvelope<T>> Succeeded { get; } = [];
    public ConcurrentBag<(TaskEnvelope<T> Envelope, string Reason)> DeadLettered { get; } = [];

    public ValueTask OnSucceededAsync(TaskEnvelope<T> envelope, CancellationToken cancellationToken)
    {
        Succeeded.Add(envelope);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnDeadLetteredAsync(TaskEnvelope<T> envelope, string reason, CancellationToken cancellationToken)
    {
        DeadLettered.Add((envelope, reason));
        return ValueTask.CompletedTask;
    }
}
