using AppRuntime;
using Microsoft.Extensions.Logging;

namespace GeneratorDemo;

/// <summary>Logs each task it is given.</summary>
[TaskHandler("numbers")]
internal sealed partial class NumberHandler(ILogger<NumberHandler> logger) : ITaskHandler<NumberedTask>
{
    /// <inheritdoc />
    public ValueTask HandleAsync(NumberedTask task, TaskContext context, CancellationToken cancellationToken)
    {
        Handled(logger, task.Text, task.Number, context.Attempt);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Handled {Text} (number {Number}, attempt {Attempt})")]
    private static partial void Handled(ILogger logger, string text, int number, int attempt);
}
