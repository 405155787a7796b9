using AppRuntime.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace AppRuntime.Generators.Tests;

/// <summary>Runs the generator through Microsoft.CodeAnalysis.CSharp.SourceGenerators.Testing and checks diagnostics by location marker.</summary>
internal static class DiagnosticVerifier
{
    public static DiagnosticResult Diagnostic(string id, DiagnosticSeverity severity) => new(id, severity);

    public static Task VerifyAsync(string source, params DiagnosticResult[] expected) =>
        VerifyAsync(source, Array.Empty<(string, string)>(), expected);

    public static Task VerifyAsync(string source, (string Path, string Text)[] additionalFiles, params DiagnosticResult[] expected) =>
        VerifyAsync(source, additionalFiles, OutputKind.DynamicallyLinkedLibrary, expected);

    /// <summary>As <see cref="VerifyAsync(string, DiagnosticResult[])"/>, compiled as an application (an executable).</summary>
    public static Task VerifyExecutableAsync(string source, params DiagnosticResult[] expected) =>
        VerifyAsync(source, Array.Empty<(string, string)>(), OutputKind.ConsoleApplication, expected);

    private static async Task VerifyAsync(string source, (string Path, string Text)[] additionalFiles, OutputKind outputKind, DiagnosticResult[] expected)
    {
        var test = new CSharpSourceGeneratorTest<AppRuntimeGenerator, DefaultVerifier>
        {
            ReferenceAssemblies = TestReferences.Net10,
            TestBehaviors = TestBehaviors.SkipGeneratedSourcesCheck,
        };
        test.TestState.OutputKind = outputKind;
        test.TestState.Sources.Add(("Test.cs", source));
        foreach (var file in additionalFiles)
            test.TestState.AdditionalFiles.Add((file.Path, file.Text));
        test.TestState.AdditionalReferences.AddRange(TestReferences.Libraries);
        test.ExpectedDiagnostics.AddRange(expected);
        await test.RunAsync();
    }
}
