using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>How the Redis adapter tells an outage from a real error, for the queues and the cluster registry alike.</summary>
internal static class RedisCalls
{
    /// <summary>A failure that passes: the connection is down or slow, or the server is loading, busy or resharding.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        RedisConnectionException or RedisTimeoutException => true,
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || server.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// Runs <paramref name="call"/>: it fails at once with <see cref="QueueBackendUnavailableException"/> (naming <paramref name="what"/>)
    /// while the connection is down, instead of queueing behind the client's reconnect for its whole timeout, and turns transient
    /// errors into that exception too.
    /// </summary>
    public static async Task<TResult> AvailableAsync<TResult>(IConnectionMultiplexer connection, string what, Func<Task<TResult>> call)
    {
        if (!connection.IsConnected)
            throw new QueueBackendUnavailableException(what, RedisQueueBackend.BackendName, $"not connected to Redis at {Endpoints(connection)}");
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsTransient(ex))
        {
            throw new QueueBackendUnavailableException(what, RedisQueueBackend.BackendName, $"Redis at {Endpoints(connection)} did not answer: {ex.Message}", ex);
        }
    }

    public static string Endpoints(IConnectionMultiplexer connection) => string.Join(",", connection.GetEndPoints().Select(e => e.ToString()));
}
