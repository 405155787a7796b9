using AppRuntime;
using Microsoft.Extensions.Logging;

namespace Company.Service1.Handlers;

/// <summary>
/// Handles one work item, in its own DI scope. Return to have it acked; throw to have it retried with backoff (up to the pool's
/// MaxAttempts); throw <see cref="PermanentTaskException"/> for a failure no retry can fix (it is dead-lettered at once).
/// </summary>
[TaskHandler("work")]
public sealed partial class WorkItemHandler(WorkLog log, ILogger<WorkItemHandler> logger) : ITaskHandler<WorkItem>
{
    /// <inheritdoc />
    public ValueTask HandleAsync(WorkItem task, TaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrWhiteSpace(task.Id))
            throw new PermanentTaskException("A work item needs an id.");
        log.Record();
        LogHandled(logger, task.Id, context.Attempt);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(1, LogLevel.Information, "Handled {Id} (attempt {Attempt})")]
    private static partial void LogHandled(ILogger logger, string id, int attempt);
}
