using System.Globalization;
using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>Readiness: the Redis connection answers PING.</summary>
internal sealed class RedisConnectionHealthContributor(Func<IConnectionMultiplexer?> connectionIfUsed) : IHealthContributor
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);

    public string Name => "redis";

    public HealthScope Scope => HealthScope.Readiness;

    public async ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken)
    {
        if (connectionIfUsed() is not { } connection)
            return HealthResult.Healthy("no queue uses the Redis backend");
        var endpoints = string.Join(",", connection.GetEndPoints().Select(e => e.ToString()));
        if (!connection.IsConnected)
            return HealthResult.Unhealthy($"Not connected to Redis at {endpoints}.", new Dictionary<string, string> { ["endpoints"] = endpoints });
        try
        {
            var latency = await connection.GetDatabase().PingAsync().WaitAsync(PingTimeout, cancellationToken).ConfigureAwait(false);
            return HealthResult.Healthy(null, new Dictionary<string, string>
            {
                ["endpoints"] = endpoints,
                ["pingMs"] = latency.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture),
            });
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return HealthResult.Unhealthy($"Redis at {endpoints} did not answer PING: {ex.Message}", new Dictionary<string, string> { ["endpoints"] = endpoints });
        }
    }
}
