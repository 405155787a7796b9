using System.Collections.Immutable;
using AppRuntime.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AppRuntime.Generators.Tests;

/// <summary>References and helpers to compile test sources with the generator.</summary>
internal static class TestReferences
{
    /// <summary>The .NET 10 reference pack the Roslyn testing library restores (10.0.0 is not served here).</summary>
    public static readonly ReferenceAssemblies Net10 = new("net10.0",
        new PackageIdentity("Microsoft.NETCore.App.Ref", "10.0.12"), Path.Combine("ref", "net10.0"));

    /// <summary>AppRuntime.Abstractions, AppRuntime.Webhooks and the Microsoft.Extensions assemblies generated code and test sources use.</summary>
    public static readonly ImmutableArray<MetadataReference> Libraries = new[]
    {
        typeof(ApplicationModuleAttribute).Assembly,
        typeof(WebhookSourceAttribute).Assembly,
        typeof(ScheduledSourceAttribute).Assembly,
        typeof(IServiceCollection).Assembly,
        typeof(ServiceProviderServiceExtensions).Assembly,
        typeof(IConfiguration).Assembly,
        typeof(ConfigurationExtensions).Assembly,
        typeof(ILogger<>).Assembly,
        typeof(IOptions<>).Assembly,
        typeof(IHostEnvironment).Assembly,
    }.Distinct().Select(a => (MetadataReference)MetadataReference.CreateFromFile(a.Location)).ToImmutableArray();

    /// <summary>Reference assemblies of .NET 10 plus <see cref="Libraries"/>, for in-memory compilations.</summary>
    public static readonly ImmutableArray<MetadataReference> All =
        Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>().Concat(Libraries).ToImmutableArray();

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static CSharpCompilation Compile(string assemblyName, IEnumerable<MetadataReference> references, params (string Path, string Text)[] sources) =>
        CSharpCompilation.Create(assemblyName,
            sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, s.Path)),
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(IEnumerable<AdditionalText>? additionalTexts = null, bool track = true) =>
        CSharpGeneratorDriver.Create(
            new[] { new AppRuntimeGenerator().AsSourceGenerator() },
            additionalTexts,
            ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    /// <summary>Runs the generator; returns the run result and the compilation with generated sources added.</summary>
    public static (GeneratorDriverRunResult Result, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(
        CSharpCompilation compilation, IEnumerable<AdditionalText>? additionalTexts = null)
    {
        var driver = Driver(additionalTexts).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (driver.GetRunResult(), output, diagnostics);
    }
}

/// <summary>An in-memory AdditionalFile.</summary>
internal sealed class InMemoryAdditionalText(string path, string text) : AdditionalText
{
    public override string Path { get; } = path;

    public override Microsoft.CodeAnalysis.Text.SourceText GetText(CancellationToken cancellationToken = default) =>
        Microsoft.CodeAnalysis.Text.SourceText.From(text);
}
