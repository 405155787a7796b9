using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// One queue's view of a Redis outage: the first failed call logs it once, as a Redis outage (a warning naming the queue, the
/// endpoints and the error); later failures during the same outage log at debug only; the first call that succeeds afterwards
/// logs that Redis answers again and how long the outage lasted. Thread-safe.
/// </summary>
internal sealed class RedisOutage(string queue, Func<string> endpoints, TimeProvider time, ILogger logger)
{
    private long _sinceTimestamp;   // 0: no outage

    /// <summary>True while an outage is under way.</summary>
    public bool Active => Interlocked.Read(ref _sinceTimestamp) != 0;

    public void Failed(Exception error)
    {
        var now = time.GetTimestamp();
        if (Interlocked.CompareExchange(ref _sinceTimestamp, now == 0 ? 1 : now, 0) == 0)
        {
            var where = endpoints();
            Log.OutageStarted(logger, queue, where, error.GetType().Name, error.Message);
        }
        else
        {
            Log.OutageContinues(logger, queue, error.Message);
        }
    }

    public void Succeeded()
    {
        if (Interlocked.Read(ref _sinceTimestamp) == 0)
            return;
        var since = Interlocked.Exchange(ref _sinceTimestamp, 0);
        if (since == 0)
            return;
        var lasted = time.GetElapsedTime(since);
        var where = endpoints();
        Log.OutageEnded(logger, queue, where, lasted);
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Redis outage: queue '{Queue}' cannot reach Redis at {Endpoints} ({Error}: {Reason}); publishes wait and consumers retry until it answers")]
    public static partial void OutageStarted(ILogger logger, string queue, string endpoints, string error, string reason);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Redis outage continues for queue '{Queue}': {Reason}")]
    public static partial void OutageContinues(ILogger logger, string queue, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Redis outage over: queue '{Queue}' reaches Redis at {Endpoints} again after {Duration}")]
    public static partial void OutageEnded(ILogger logger, string queue, string endpoints, TimeSpan duration);
}
