using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>AddRedisQueues wiring; no server needed (the multiplexer connects lazily and tolerates a dead endpoint).</summary>
public sealed class RedisRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<IAppRuntimeBuilder>? extra = null)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration.AddInMemoryCollection(settings);
        var services = new ServiceCollection();
        var builder = services.AddAppRuntime(configuration).AddRedisQueues();
        extra?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task AddRedisQueues_makes_the_Redis_backend_available_with_the_configured_connection_and_prefix()
    {
        await using var provider = Build(new()
        {
            ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200",
            ["AppRuntime:Redis:KeyPrefix"] = "shop",
            ["AppRuntime:Redis:PollInterval"] = "00:00:00.250",
            ["AppRuntime:Redis:Prefetch"] = "8",
        });

        var backends = provider.GetServices<ITaskQueueBackend>().ToList();
        Assert.True(Assert.Single(backends, b => b.Name == "Redis").IsDurable);
        Assert.Contains(backends, b => b.Name == "InMemory");
        var redis = provider.GetRequiredService<RedisQueueBackend>();
        Assert.True(redis.IsDurable);
        Assert.Equal("shop", redis.Options.KeyPrefix);
        Assert.Equal(TimeSpan.FromMilliseconds(250), redis.Options.PollInterval);
        Assert.Equal(8, redis.Options.Prefetch);
        var connection = provider.GetRequiredService<IConnectionMultiplexer>();
        Assert.Equal("127.0.0.1:1", Assert.Single(connection.GetEndPoints()).ToString());
        Assert.False(connection.IsConnected);
    }

    [Fact]
    public async Task Calling_AddRedisQueues_twice_registers_one_backend_and_one_health_check()
    {
        await using var provider = Build(new() { ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200" }, b => b.AddRedisQueues());

        Assert.Single(provider.GetServices<ITaskQueueBackend>(), b => b.Name == "Redis");
        var registry = provider.GetRequiredService<HealthRegistry>();

        // No queue uses Redis yet: nothing connects and readiness does not depend on a Redis server.
        var unused = Assert.Single((await registry.CheckReadinessAsync()).Entries, e => e.Name == "redis");
        Assert.Equal(HealthStatus.Healthy, unused.Result.Status);
        Assert.Equal("no queue uses the Redis backend", unused.Result.Description);

        // Once the backend is in use, an unreachable server makes readiness unhealthy, naming the endpoint.
        provider.GetRequiredService<RedisQueueBackend>();
        var redis = Assert.Single((await registry.CheckReadinessAsync()).Entries, e => e.Name == "redis");
        Assert.Equal(HealthStatus.Unhealthy, redis.Result.Status);
        Assert.Contains("127.0.0.1:1", redis.Result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_poll_interval_is_reported_with_its_key()
    {
        await using var provider = Build(new()
        {
            ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200",
            ["AppRuntime:Redis:PollInterval"] = "soon",
        });

        var ex = Assert.Throws<ConfigValidationException>(() => provider.GetRequiredService<RedisQueueBackend>());
        Assert.Contains("AppRuntime:Redis:PollInterval", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("many")]
    [InlineData("-1")]
    [InlineData("1001")]
    public async Task An_invalid_prefetch_is_reported_with_its_name(string value)
    {
        await using var provider = Build(new()
        {
            ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200",
            ["AppRuntime:Redis:Prefetch"] = value,
        });

        var ex = Assert.Throws<ConfigValidationException>(() => provider.GetRequiredService<RedisQueueBackend>());
        Assert.Contains("Prefetch", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_socket_manager_is_reported_with_its_key()
    {
        await using var provider = Build(new()
        {
            ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200",
            ["AppRuntime:Redis:SocketManager"] = "Dedicated",
        });

        var ex = Assert.Throws<ConfigValidationException>(() => provider.GetRequiredService<IConnectionMultiplexer>());
        Assert.Contains("AppRuntime:Redis:SocketManager", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("threadpool")]
    [InlineData("Shared")]
    public async Task Both_socket_managers_are_accepted(string? value)
    {
        await using var provider = Build(new()
        {
            ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200",
            ["AppRuntime:Redis:SocketManager"] = value,
        });

        Assert.False(provider.GetRequiredService<IConnectionMultiplexer>().IsConnected);
    }

    [Fact]
    public void The_backend_refuses_a_queue_without_a_serializer()
    {
        using var connection = ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=200");
        var backend = new RedisQueueBackend(connection);

        var ex = Assert.Throws<ArgumentException>(() => backend.Create<string>(new QueueDefinition("q", "t"), null));
        Assert.Contains("TaskSerializer", ex.Message, StringComparison.Ordinal);
    }
}
