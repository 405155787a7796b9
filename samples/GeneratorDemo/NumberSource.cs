using AppRuntime;

namespace GeneratorDemo;

/// <summary>Publishes <see cref="DemoSettings.Count"/> numbered tasks, then idles until the runtime stops it.</summary>
[TaskSource("numbers")]
internal sealed class NumberSource(DemoSettings settings) : ITaskSource<NumberedTask>
{
    /// <inheritdoc />
    public async Task RunAsync(ITaskSourceContext<NumberedTask> context, CancellationToken cancellationToken)
    {
        for (var i = 1; i <= settings.Count; i++)
            await context.PublishAsync(new NumberedTask(i, $"{settings.Greeting} #{i}"), cancellationToken: cancellationToken);
        context.ReportHealthy("published");
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
