using StackExchange.Redis;

namespace AppRuntime.Scheduling.Tests;

/// <summary>The redis-server of tests/infra/redis.sh (APPRUNTIME_REDIS, default 127.0.0.1:6390).</summary>
internal static class RedisTestServer
{
    public static string Endpoint => Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6390";

    public static async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = ConfigurationOptions.Parse(Endpoint);
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = 3000;
        options.AllowAdmin = true;
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException($"Redis is not reachable at {Endpoint} (APPRUNTIME_REDIS): start it with: bash tests/infra/redis.sh start", ex);
        }
    }

    public static string NewPrefix() => "s" + Guid.NewGuid().ToString("N")[..10];

    public static async Task DeleteKeysAsync(IConnectionMultiplexer connection, string prefix)
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var db = connection.GetDatabase();
        await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
            await db.KeyDeleteAsync(key);
    }
}
