using System.Diagnostics;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit.Abstractions;

namespace AppRuntime.Generators.Tests;

/// <summary>
/// The timing harness behind docs/benchmarks-generator.md: a synthetic project of 500 handlers (500 queues, 500 sources).
/// It asserts what the generator produces and that an unrelated edit is fully cached; the times are printed, not asserted
/// (speed goals live in benchmarks, not in timed tests). Run it with:
/// <c>dotnet test tests/AppRuntime.Generators.Tests -c Release --filter GeneratorTimingTests --logger "console;verbosity=detailed"</c>
/// </summary>
public sealed class GeneratorTimingTests(ITestOutputHelper output)
{
    private const int Handlers = 500;

    [Fact]
    public void A_synthetic_project_of_500_handlers_generates_once_and_caches_an_unrelated_edit()
    {
        var compilation = TestReferences.Compile("Synthetic", TestReferences.All,
            ("Module.cs", SyntheticModule()), ("Components.cs", SyntheticComponents()), ("Unrelated.cs", Samples.Unrelated));

        // Cold: the first run of a new driver (includes JIT of the generator in this process).
        var cold = Stopwatch.StartNew();
        var driver = TestReferences.Driver().RunGenerators(compilation);
        cold.Stop();
        var first = driver.GetRunResult();
        Assert.Empty(first.Diagnostics);
        var module = first.Results.Single().GeneratedSources.Single().SourceText.ToString();
        Assert.Equal(Handlers, CountOf(module, "builder.AddHandler<"));
        Assert.Equal(Handlers, CountOf(module, "builder.AddSource<"));
        Assert.Equal(Handlers, CountOf(module, "builder.AddQueue<"));

        // Warm full runs: a fresh driver each time over the same compilation (what a clean build does).
        const int runs = 10;
        var full = new List<double>();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            TestReferences.Driver().RunGenerators(compilation);
            full.Add(sw.Elapsed.TotalMilliseconds);
        }
        var fullCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / runs;

        // Incremental: an unrelated edit on the warm driver (what the IDE does per keystroke).
        var incremental = new List<double>();
        var current = compilation;
        var warm = driver;
        GeneratorRunResult? last = null;
        cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < runs; i++)
        {
            var tree = current.SyntaxTrees.Single(t => t.FilePath == "Unrelated.cs");
            current = current.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(
                Samples.Unrelated.Replace("=> 1;", "=> " + (i + 2) + ";", StringComparison.Ordinal), TestReferences.ParseOptions, "Unrelated.cs"));
            var sw = Stopwatch.StartNew();
            warm = warm.RunGenerators(current);
            incremental.Add(sw.Elapsed.TotalMilliseconds);
            last = warm.GetRunResult().Results.Single();
        }
        var incrementalCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / runs;

        // No change at all: the driver's fixed cost.
        var noop = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            warm = warm.RunGenerators(current);
            noop.Add(sw.Elapsed.TotalMilliseconds);
        }

        // The same edits without step tracking (how the compiler and the IDE run generators).
        var untracked = TestReferences.Driver(track: false).RunGenerators(current);
        var plain = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var tree = current.SyntaxTrees.Single(t => t.FilePath == "Unrelated.cs");
            current = current.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(
                Samples.Unrelated.Replace("=> 1;", "=> " + (i + 100) + ";", StringComparison.Ordinal), TestReferences.ParseOptions, "Unrelated.cs"));
            var sw = Stopwatch.StartNew();
            untracked = untracked.RunGenerators(current);
            plain.Add(sw.Elapsed.TotalMilliseconds);
        }

        // The same edits, with the new compilation's declarations bound first (the IDE and the compiler bind them anyway):
        // what remains is the generator's own work.
        var prebound = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var tree = current.SyntaxTrees.Single(t => t.FilePath == "Unrelated.cs");
            current = current.ReplaceSyntaxTree(tree, CSharpSyntaxTree.ParseText(
                Samples.Unrelated.Replace("=> 1;", "=> " + (i + 200) + ";", StringComparison.Ordinal), TestReferences.ParseOptions, "Unrelated.cs"));
            _ = current.GetDeclarationDiagnostics();
            var sw = Stopwatch.StartNew();
            untracked = untracked.RunGenerators(current);
            prebound.Add(sw.Elapsed.TotalMilliseconds);
        }

        var notCached = last!.Value.TrackedSteps
            .Where(s => s.Key != TrackingNames.DiagnosticsReport && TrackingNames.All.Contains(s.Key))
            .SelectMany(s => s.Value.SelectMany(step => step.Outputs).Select(o => (s.Key, o.Reason)))
            .Where(x => x.Reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
            .ToList();
        Assert.Empty(notCached);

        output.WriteLine($"handlers={Handlers} generated-module-lines={module.Count(c => c == '\n')}");
        output.WriteLine($"cold-first-run-ms={cold.Elapsed.TotalMilliseconds:F1}");
        output.WriteLine($"full-run-ms median={Median(full):F1} min={full.Min():F1} max={full.Max():F1} cpu-per-run={fullCpu:F1} (n={runs})");
        output.WriteLine($"incremental-unrelated-edit-ms median={Median(incremental):F1} min={incremental.Min():F1} max={incremental.Max():F1} cpu-per-run={incrementalCpu:F1} (n={runs})");
        output.WriteLine($"machine: {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        output.WriteLine($"no-change-run-ms median={Median(noop):F1} (n={runs})");
        output.WriteLine($"incremental-unrelated-edit-untracked-ms median={Median(plain):F1} min={plain.Min():F1} max={plain.Max():F1} (n={runs})");
        output.WriteLine($"incremental-unrelated-edit-prebound-ms median={Median(prebound):F1} min={prebound.Min():F1} max={prebound.Max():F1} (n={runs})");
        output.WriteLine("tracked steps after the last edit: " + string.Join(", ", last.Value.TrackedSteps
            .Where(s => TrackingNames.All.Contains(s.Key))
            .OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => s.Key + "=" + string.Join("/", s.Value.SelectMany(step => step.Outputs).Select(o => o.Reason).Distinct()))));
    }

    private static string SyntheticModule()
    {
        var sb = new StringBuilder("using AppRuntime;\nnamespace Synthetic;\n[ApplicationModule(\"synthetic\")]\n");
        for (var i = 0; i < Handlers; i++)
            sb.Append("[TaskQueue<Task").Append(i).Append(">(\"q").Append(i).Append("\")]\n[WorkerPool(\"q").Append(i).Append("\", Workers = 2)]\n");
        sb.Append("public static partial class SyntheticModule;\n");
        return sb.ToString();
    }

    private static string SyntheticComponents()
    {
        var sb = new StringBuilder("""
            using System.Threading;
            using System.Threading.Tasks;
            using AppRuntime;
            using Microsoft.Extensions.Logging;
            namespace Synthetic;
            [Service] public sealed class Clock(System.TimeProvider time) { public System.DateTimeOffset Now => time.GetUtcNow(); }

            """);
        for (var i = 0; i < Handlers; i++)
        {
            sb.Append($$"""
                public sealed record Task{{i}}(int Id, string Name);
                [TaskHandler("q{{i}}")]
                public sealed class Handler{{i}}(Clock clock, ILogger<Handler{{i}}> logger) : ITaskHandler<Task{{i}}>
                {
                    public ValueTask HandleAsync(Task{{i}} task, TaskContext context, CancellationToken cancellationToken) { logger.LogDebug("{Now}", clock.Now); return default; }
                }
                [TaskSource("q{{i}}")]
                public sealed class Source{{i}} : ITaskSource<Task{{i}}>
                {
                    public Task RunAsync(ITaskSourceContext<Task{{i}}> context, CancellationToken cancellationToken) => Task.CompletedTask;
                }

                """);
        }
        return sb.ToString();
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
            count++;
        return count;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
