using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Tests;

/// <summary>[TaskSource(Exclusive = true)] reaches the source's definition; a source without it leaves the choice to the runtime.</summary>
public sealed class ExclusiveSourceTests
{
    private const string Module = """
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;

        namespace Leaders;

        public sealed record Tick(int N);

        [ApplicationModule("leaders")]
        [TaskQueue<Tick>("ticks")]
        [WorkerPool("ticks")]
        public static partial class LeadersModule;

        [TaskSource("ticks", Name = "leader-only", Exclusive = true)]
        public sealed class LeaderOnlySource : ITaskSource<Tick>
        {
            public Task RunAsync(ITaskSourceContext<Tick> context, CancellationToken cancellationToken) => Task.CompletedTask;
        }

        [TaskSource("ticks", Name = "everywhere")]
        public sealed class EverywhereSource : ITaskSource<Tick>
        {
            public Task RunAsync(ITaskSourceContext<Tick> context, CancellationToken cancellationToken) => Task.CompletedTask;
        }

        [TaskHandler("ticks")]
        public sealed class TickHandler : ITaskHandler<Tick>
        {
            public ValueTask HandleAsync(Tick task, TaskContext context, CancellationToken cancellationToken) => default;
        }
        """;

    [Fact]
    public void An_exclusive_source_is_registered_exclusive_and_another_source_is_left_to_the_runtime()
    {
        var compilation = TestReferences.Compile("Leaders", TestReferences.All, ("LeadersModule.cs", Module));
        var (result, output, diagnostics) = TestReferences.Run(compilation);

        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var code = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Leaders.LeadersModule.g.cs").SourceText.ToString();
        Assert.Contains("SourceDefinition(\"leader-only\", \"ticks\") { Exclusive = true }", code, StringComparison.Ordinal);
        Assert.Contains("SourceDefinition(\"everywhere\", \"ticks\"), static sp", code, StringComparison.Ordinal);
    }
}
