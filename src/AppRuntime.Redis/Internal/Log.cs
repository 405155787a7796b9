using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': consume failed, retrying in {Backoff}.")]
    public static partial void ConsumeFailed(ILogger logger, string queue, TimeSpan backoff, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Redis queue '{Queue}': task {TaskId} could not be read and was dead-lettered: {Problem}")]
    public static partial void UnreadableDeadLettered(ILogger logger, string queue, string taskId, string problem);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Redis queue '{Queue}': task {TaskId} is already in the queue; the publish was ignored.")]
    public static partial void DuplicateIgnored(ILogger logger, string queue, string taskId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': pub/sub (un)subscription failed; polling covers until it succeeds.")]
    public static partial void SubscribeFailed(ILogger logger, string queue, Exception exception);
}
