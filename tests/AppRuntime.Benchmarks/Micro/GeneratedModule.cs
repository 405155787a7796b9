namespace AppRuntime.Benchmarks.Micro;

/// <summary>The task of the generated module (a record the generator writes a reflection-free serializer for).</summary>
public sealed record GenTask(long Seq, string Text, int Priority);

/// <summary>
/// The same shape for System.Text.Json's source generator. GenTask itself must not be listed by a JsonSerializerContext of this
/// assembly: the module would then use that context instead of generating a serializer (docs/serialization.md).
/// </summary>
public sealed record GenTaskStj(long Seq, string Text, int Priority);

/// <summary>
/// A module declared with attributes: the AppRuntime generator emits <c>AddBenchModule()</c>, which registers the queue (with
/// its generated serializer), the pool and the handler factory (<c>static sp =&gt; new GeneratedCountingHandler(...)</c>).
/// </summary>
[ApplicationModule("bench")]
[TaskQueue<GenTask>("gen-bench", Capacity = 100_000)]
[WorkerPool("gen-bench", Workers = 4)]
internal static partial class BenchModule;

/// <summary>The no-op handler of the generated module.</summary>
[TaskHandler("gen-bench")]
internal sealed partial class GeneratedCountingHandler(TimeProvider time) : ITaskHandler<GenTask>
{
    public TimeProvider Time { get; } = time;

    public ValueTask HandleAsync(GenTask task, TaskContext context, CancellationToken cancellationToken)
    {
        Countdown.Signal();
        return default;
    }
}
