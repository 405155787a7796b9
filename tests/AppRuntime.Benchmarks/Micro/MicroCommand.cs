using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>
/// <c>micro [BenchmarkDotNet arguments]</c>: the micro benchmarks with a short job (3 warm-ups, 3 iterations, 1 launch) run
/// in process (no generated project to build), with the memory diagnoser. Without <c>--filter</c> every benchmark runs.
/// </summary>
public static class MicroCommand
{
    public static int Run(string[] args)
    {
        var root = FindRepoRoot();
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("short-inprocess"))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(root, "artifacts", "benchmarks", "micro"));
        if (!args.Contains("--filter"))
            args = [.. args, "--filter", "*"];
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroCommand).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AppRuntime.sln")))
                return dir.FullName;
        }
        return Directory.GetCurrentDirectory();
    }
}
