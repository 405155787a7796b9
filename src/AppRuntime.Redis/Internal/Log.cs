using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

internal static partial class Log
{

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Redis queue '{Queue}': task {TaskId} could not be read and was dead-lettered: {Problem}")]
    public static partial void UnreadableDeadLettered(ILogger logger, string queue, string taskId, string problem);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Redis queue '{Queue}': task {TaskId} is already in the queue; the publish was ignored.")]
    public static partial void DuplicateIgnored(ILogger logger, string queue, string taskId);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': pub/sub (un)subscription failed; polling covers until it succeeds.")]
    public static partial void SubscribeFailed(ILogger logger, string queue, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': {Count} leased but not handed-out task(s) could not be given back; their leases expire and they are delivered again.")]
    public static partial void GiveBackFailed(ILogger logger, string queue, int count, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': a buffered task could not be renewed before hand-out; it is left to expire and come back.")]
    public static partial void BufferedRenewFailed(ILogger logger, string queue, Exception exception);

    [LoggerMessage(EventId = 8, Level = LogLevel.Error, Message = "Redis queue '{Queue}': task {TaskId} had an unreadable record and was dead-lettered: {Problem}")]
    public static partial void CorruptRecordDeadLettered(ILogger logger, string queue, string taskId, string problem);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': dead letter {TaskId} cannot be read and was left out of the listing: {Problem}")]
    public static partial void UnreadableDeadLetterSkipped(ILogger logger, string queue, string taskId, string problem);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Redis queue '{Queue}': task {TaskId} was leased to this process at publish but could not be read back; it is given back.")]
    public static partial void HandOffUnreadable(ILogger logger, string queue, string taskId, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Redis queue '{Queue}': a read-ahead fetch failed; the consumers fetch on their own.")]
    public static partial void RefillFailed(ILogger logger, string queue, Exception exception);
}
