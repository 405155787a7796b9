using System.Reflection;
using AppRuntime.Generators.Diagnostics;

namespace AppRuntime.Generators.Tests;

/// <summary>Every diagnostic ID has a docs page, an index entry, a release-tracking line and a test.</summary>
public sealed class DiagnosticCatalogTests
{
    private static readonly string RepoRoot = Path.GetFullPath(Path.Combine(typeof(DiagnosticCatalogTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BaselineDirectory").Value!, "..", "..", ".."));

    private static readonly string[] AllIds = typeof(DiagnosticIds).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (string)f.GetRawConstantValue()!).ToArray();

    public static TheoryData<string> Ids() => new(AllIds);

    [Fact]
    public void There_are_at_least_fifteen_distinct_diagnostics() =>
        Assert.True(AllIds.Distinct().Count() >= 15);

    [Theory]
    [MemberData(nameof(Ids))]
    public void Each_diagnostic_has_a_page_an_index_entry_a_release_line_and_a_test(string id)
    {
        Assert.True(File.Exists(Path.Combine(RepoRoot, "docs", "diagnostics", id + ".md")), $"docs/diagnostics/{id}.md is missing");
        Assert.Contains($"[{id}]({id}.md)", File.ReadAllText(Path.Combine(RepoRoot, "docs", "diagnostics", "README.md")), StringComparison.Ordinal);
        Assert.Contains(id + " |", File.ReadAllText(Path.Combine(RepoRoot, "generators", "AppRuntime.Generators", "AnalyzerReleases.Unshipped.md")), StringComparison.Ordinal);
        var tests = File.ReadAllText(Path.Combine(RepoRoot, "tests", "AppRuntime.Generators.Tests", "DiagnosticTests.cs"));
        Assert.Contains("public Task " + id + "_", tests, StringComparison.Ordinal);
    }
}
