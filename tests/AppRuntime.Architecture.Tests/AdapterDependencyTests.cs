using System.Reflection;
using System.Text.Json;

namespace AppRuntime.Architecture.Tests;

/// <summary>
/// Adapters depend on the contracts (AppRuntime.Abstractions), never on the platform core (issue #14): an application can take
/// an adapter without AppRuntime.Core coming along, and Core can change without breaking adapters. AppRuntime.ControlPlane and
/// AppRuntime.OpenTelemetry sit on Core by design and are not listed.
/// </summary>
public sealed class AdapterDependencyTests
{
    private const string Core = "AppRuntime.Core";
    private const string Abstractions = "AppRuntime.Abstractions";

    public static TheoryData<string> Adapters =>
    [
        "AppRuntime.Mail",
        "AppRuntime.Redis",
        "AppRuntime.Scheduling",
        "AppRuntime.Configuration.Database",
        "AppRuntime.Configuration.Sqlite",
        "AppRuntime.Configuration.PostgreSql",
        "AppRuntime.Webhooks",
    ];

    /// <summary>What the compiled code uses: the assembly references in the adapter's metadata.</summary>
    [Theory]
    [MemberData(nameof(Adapters))]
    public void Adapter_assembly_references_Abstractions_and_not_Core(string adapter)
    {
        var references = Assembly.Load(adapter).GetReferencedAssemblies().Select(r => r.Name).ToList();

        Assert.Contains(Abstractions, references);
        Assert.DoesNotContain(Core, references);
    }

    /// <summary>
    /// What the adapter declares (a ProjectReference or PackageReference, used or not, becomes a dependency of its package): the
    /// adapter's direct dependencies in the dependency graph the build wrote next to this test assembly.
    /// </summary>
    [Theory]
    [MemberData(nameof(Adapters))]
    public void Adapter_project_does_not_depend_on_Core(string adapter)
    {
        var dependencies = DirectDependencies(adapter);

        Assert.Contains(Abstractions, dependencies);
        Assert.DoesNotContain(Core, dependencies);
    }

    private static List<string> DirectDependencies(string project)
    {
        var depsFile = Path.ChangeExtension(typeof(AdapterDependencyTests).Assembly.Location, ".deps.json");
        using var deps = JsonDocument.Parse(File.ReadAllText(depsFile));
        var target = deps.RootElement.GetProperty("targets").EnumerateObject().Single().Value;
        var entry = target.EnumerateObject().SingleOrDefault(e => e.Name.StartsWith(project + "/", StringComparison.Ordinal));
        Assert.True(entry.Value.ValueKind == JsonValueKind.Object, $"{project} is not in {depsFile}");
        return entry.Value.TryGetProperty("dependencies", out var dependencies)
            ? dependencies.EnumerateObject().Select(d => d.Name).ToList()
            : [];
    }
}
