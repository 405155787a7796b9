using System.Reflection;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Tests;

/// <summary>
/// Layer (b): the generated code of a realistic module, compared as exact text with the files in Baselines/.
/// Set APPRUNTIME_UPDATE_BASELINES=1 to rewrite them after an intended change, then review the diff.
/// </summary>
public sealed class BaselineTests
{
    private static readonly string BaselineDirectory = typeof(BaselineTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "BaselineDirectory").Value!;

    [Fact]
    public void Generated_code_of_a_realistic_module_matches_the_baselines()
    {
        var compilation = TestReferences.Compile("Shop", TestReferences.All, ("OrdersModule.cs", Samples.OrdersModule));
        var (result, output, diagnostics) = TestReferences.Run(compilation);

        var generated = result.Results.Single().GeneratedSources;
        var update = Environment.GetEnvironmentVariable("APPRUNTIME_UPDATE_BASELINES") == "1";
        if (update)
        {
            Directory.CreateDirectory(BaselineDirectory);
            foreach (var source in generated)
                File.WriteAllText(Path.Combine(BaselineDirectory, source.HintName), source.SourceText.ToString());
        }

        Assert.Empty(diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(errors.Count == 0, "The generated code must compile without warnings:\n" + string.Join("\n", errors));

        Assert.Equal(
            ["Shop.Orders.OrdersModule.g.cs", "Shop.Orders.ShopSettings.g.cs", "Shop.Orders.SmtpSettings.g.cs"],
            generated.Select(g => g.HintName).Order(StringComparer.Ordinal));

        var mismatches = new List<string>();
        foreach (var source in generated)
        {
            var path = Path.Combine(BaselineDirectory, source.HintName);
            var actual = source.SourceText.ToString();
            if (update)
                continue;
            Assert.True(File.Exists(path), $"Missing baseline {path}; run the tests with APPRUNTIME_UPDATE_BASELINES=1 to create it.");
            var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
            if (expected != actual)
                mismatches.Add(source.HintName + ": " + FirstDifference(expected, actual));
        }
        Assert.True(mismatches.Count == 0,
            "Generated code differs from the baselines (set APPRUNTIME_UPDATE_BASELINES=1 to accept):\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void Generated_code_of_webhook_sources_matches_the_baseline()
    {
        var compilation = TestReferences.Compile("Shop", TestReferences.All, ("HooksModule.cs", Samples.HooksModule));
        var (result, output, diagnostics) = TestReferences.Run(compilation);

        var generated = result.Results.Single().GeneratedSources.Single();
        Assert.Equal("Shop.Hooks.HooksModule.g.cs", generated.HintName);
        var path = Path.Combine(BaselineDirectory, generated.HintName);
        var actual = generated.SourceText.ToString();
        if (Environment.GetEnvironmentVariable("APPRUNTIME_UPDATE_BASELINES") == "1")
            File.WriteAllText(path, actual);

        Assert.Empty(diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(errors.Count == 0, "The generated code must compile without warnings:\n" + string.Join("\n", errors));
        Assert.True(File.Exists(path), $"Missing baseline {path}; run the tests with APPRUNTIME_UPDATE_BASELINES=1 to create it.");
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(expected == actual, "Generated code differs from the baseline (set APPRUNTIME_UPDATE_BASELINES=1 to accept): " + FirstDifference(expected, actual));
    }

    [Fact]
    public void Generation_is_deterministic_across_runs_and_declaration_order()
    {
        var first = TestReferences.Run(TestReferences.Compile("Shop", TestReferences.All, ("OrdersModule.cs", Samples.OrdersModule)));
        var second = TestReferences.Run(TestReferences.Compile("Shop", TestReferences.All,
            ("Unrelated.cs", Samples.Unrelated), ("OrdersModule.cs", Samples.OrdersModule)));
        var a = first.Result.Results.Single().GeneratedSources.Select(s => (s.HintName, Text: s.SourceText.ToString()));
        var b = second.Result.Results.Single().GeneratedSources.Select(s => (s.HintName, Text: s.SourceText.ToString()));
        Assert.Equal(a, b);
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var el = i < e.Length ? e[i] : "<end of file>";
            var al = i < a.Length ? a[i] : "<end of file>";
            if (el != al)
                return $"line {i + 1}\n  expected: {el}\n  actual:   {al}";
        }
        return "same lines, different text";
    }
}
