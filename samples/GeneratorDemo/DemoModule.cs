using AppRuntime;

namespace GeneratorDemo;

/// <summary>A numbered piece of work.</summary>
/// <param name="Number">Its number, from 1.</param>
/// <param name="Text">A label built from configuration.</param>
internal sealed record NumberedTask(int Number, string Text);

/// <summary>The demo module: one queue, a pool of two workers, a source and a handler.</summary>
[ApplicationModule("demo")]
[TaskQueue<NumberedTask>("numbers", Capacity = 100)]
[WorkerPool("numbers", Workers = 2, WorkersConfigKey = "Demo:Workers")]
internal static partial class DemoModule;

/// <summary>Settings of the demo, bound by generated code from the <c>Demo</c> section.</summary>
[ConfigSection("Demo")]
internal sealed partial class DemoSettings
{
    /// <summary>How many tasks the source publishes.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1000)]
    public int Count { get; init; } = 10;

    /// <summary>The label prefix of each task.</summary>
    public required string Greeting { get; init; }
}
