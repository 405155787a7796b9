using AppRuntime;
using AppRuntime.Mail;
using Microsoft.Extensions.Logging;

namespace Company.Service1.Handlers;

/// <summary>
/// Handles one email, in its own DI scope. Return to have it acked (the email is marked read); throw to have it retried with
/// backoff; throw <see cref="PermanentTaskException"/> for a failure no retry can fix (dead-lettered and flagged at once).
/// </summary>
[TaskHandler("work")]
public sealed partial class MailHandler(WorkLog log, ILogger<MailHandler> logger) : ITaskHandler<ImapMessage>
{
    /// <inheritdoc />
    public ValueTask HandleAsync(ImapMessage task, TaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (string.IsNullOrWhiteSpace(task.TextBody) && string.IsNullOrWhiteSpace(task.HtmlBody))
            throw new PermanentTaskException($"Email {task.IdempotencyKey} has no body.");
        log.Record();
        LogHandled(logger, task.Subject, task.From);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(1, LogLevel.Information, "Handled '{Subject}' from {From}")]
    private static partial void LogHandled(ILogger logger, string subject, string from);
}
