using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AppRuntime;

/// <summary>Registers the Redis queue backend.</summary>
public static class RedisAppRuntimeBuilderExtensions
{
    /// <summary>The configuration section of the Redis backend (<see cref="RedisQueueOptions"/>).</summary>
    public const string SectionPath = "AppRuntime:Redis";

    /// <summary>The configuration key of the StackExchange.Redis connection string.</summary>
    public const string ConfigurationKey = "AppRuntime:Redis:Configuration";

    /// <summary>The configuration key of the key prefix.</summary>
    public const string KeyPrefixKey = "AppRuntime:Redis:KeyPrefix";

    /// <summary>The configuration key of the idle poll interval (a TimeSpan, e.g. <c>00:00:00.100</c>).</summary>
    public const string PollIntervalKey = "AppRuntime:Redis:PollInterval";

    /// <summary>The configuration key of <see cref="RedisQueueOptions.Prefetch"/> (an integer, default 0).</summary>
    public const string PrefetchKey = "AppRuntime:Redis:Prefetch";

    /// <summary>
    /// The configuration key that picks the threads the multiplexer registered by <see cref="AddRedisQueues"/> reads its
    /// sockets on: <c>ThreadPool</c> (default: the .NET thread pool) or <c>Shared</c> (StackExchange.Redis's dedicated
    /// threads, its own default). Ignored when you register your own <see cref="IConnectionMultiplexer"/>.
    /// </summary>
    public const string SocketManagerKey = "AppRuntime:Redis:SocketManager";

    /// <summary>The connection string used when <see cref="ConfigurationKey"/> is not set.</summary>
    public const string DefaultConfiguration = "127.0.0.1:6379";

    /// <summary>
    /// Makes the <c>Redis</c> backend available: a queue uses it when <c>AppRuntime:Queues:&lt;name&gt;:Backend=Redis</c>.
    /// Declares the settings section <c>AppRuntime:Redis</c> (<see cref="RedisQueueOptions"/>, checked at start with every other
    /// section) and registers an <see cref="IConnectionMultiplexer"/> singleton (unless one is registered already) that connects on
    /// first use from <c>AppRuntime:Redis:Configuration</c> (default <c>127.0.0.1:6379</c>, <c>AbortOnConnectFail=false</c>, so
    /// the app starts and reconnects while Redis is down; sockets read on the .NET thread pool unless
    /// <see cref="SocketManagerKey"/> says <c>Shared</c>), the backend, a readiness health contributor named <c>redis</c>, and the
    /// <see cref="IClusterRegistry"/> where the application's instances announce themselves (used once a queue is on Redis).
    /// Calling it twice is harmless.
    /// </summary>
    public static IAppRuntimeBuilder AddRedisQueues(this IAppRuntimeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(RedisQueueBackend)))
            return builder;

        builder.AddConfigSection(new ConfigSectionDefinition<RedisQueueOptions>(SectionPath, RedisQueueOptions.BindConfigSection)
        {
            SecretKeys = RedisQueueOptions.ConfigSecretKeys,
        });
        services.TryAddSingleton<IConnectionMultiplexer>(sp =>
        {
            var settings = sp.GetRequiredService<IConfigSection<RedisQueueOptions>>().Current;
            var options = ConfigurationOptions.Parse(settings.Configuration);
            options.AbortOnConnectFail = false;
            options.SocketManager = settings.SocketManager == RedisSocketThreads.Shared ? SocketManager.Shared : SocketManager.ThreadPool;
            return ConnectionMultiplexer.Connect(options);
        });
        // The connection is made when the first queue is created on Redis, not when the backend is registered or
        // enumerated: an app that has the adapter but no Redis queue never waits for (or reports) a Redis server.
        services.AddSingleton(sp => new RedisBackendHandle(() => new RedisQueueBackend(
            sp.GetRequiredService<IConnectionMultiplexer>(),
            sp.GetRequiredService<IConfigSection<RedisQueueOptions>>().Current,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>())));
        services.AddSingleton(sp => sp.GetRequiredService<RedisBackendHandle>().Backend);
        services.AddSingleton<ITaskQueueBackend>(sp => new DeferredRedisBackend(sp.GetRequiredService<RedisBackendHandle>()));
        // Instances announce themselves here (heartbeats, the cluster view) once a queue is on Redis.
        services.TryAddSingleton<IClusterRegistry>(sp => new RedisClusterRegistry(sp.GetRequiredService<RedisBackendHandle>(),
            sp.GetRequiredService<IConnectionMultiplexer>));
        builder.AddHealthContributor(sp =>
        {
            var handle = sp.GetRequiredService<RedisBackendHandle>();
            return new RedisConnectionHealthContributor(() => handle.IsCreated ? sp.GetRequiredService<IConnectionMultiplexer>() : null);
        });
        return builder;
    }
}
