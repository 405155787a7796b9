using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Tests;

/// <summary>
/// Generated module code registers through AppRuntime.Core's static <c>AppRuntimeRegistration</c> when the module's project
/// references Core (a generic method called through an interface is resolved at run time in native AOT, slowly, once per type), and
/// through the <c>IAppRuntimeBuilder</c> interface when it references only AppRuntime.Abstractions (a module in a class library).
/// That the direct calls register what the interface calls did is shown by every run test (they reference Core), and the fallback
/// to the interface for other builders by the ones that record registrations with a builder of their own.
/// </summary>
public sealed class DirectRegistrationTests
{
    private static readonly string[] GenericRegistrations = ["AddConfigSection", "AddQueue", "AddSource", "AddOutcomeObserver", "AddHandler"];

    private static string ModuleSource(IEnumerable<MetadataReference> references)
    {
        var compilation = TestReferences.Compile("Shop", references, ("OrdersModule.cs", Samples.OrdersModule));
        var (result, output, diagnostics) = TestReferences.Run(compilation);
        Assert.Empty(diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(errors.Count == 0, "The generated code must compile without warnings:\n" + string.Join("\n", errors));
        return result.Results.Single().GeneratedSources.Single(s => s.HintName == "Shop.Orders.OrdersModule.g.cs").SourceText.ToString();
    }

    [Fact]
    public void With_AppRuntime_Core_referenced_every_generic_registration_is_a_static_call()
    {
        var source = ModuleSource(CompiledApp.RunReferences);

        foreach (var method in GenericRegistrations)
        {
            Assert.Contains("global::AppRuntime.AppRuntimeRegistration." + method, source);
            Assert.DoesNotContain("builder." + method, source);
        }
        Assert.Contains("global::AppRuntime.AppRuntimeRegistration.AddQueue<global::Shop.Orders.OrderPlaced>(builder,", source);
        Assert.Contains("global::AppRuntime.AppRuntimeRegistration.AddHandler<global::Shop.Orders.OrderPlaced>(builder, \"orders\",", source);
        // Non-generic registrations stay interface calls: they cost nothing at run time.
        Assert.Contains("builder.AddWorkerPool(", source);
    }

    [Fact]
    public void A_webhook_source_that_observes_outcomes_registers_its_observer_with_a_static_call()
    {
        var compilation = TestReferences.Compile("Shop", CompiledApp.RunReferences, ("HooksModule.cs", Samples.HooksModule));
        var (result, output, diagnostics) = TestReferences.Run(compilation);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var source = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Shop.Hooks.HooksModule.g.cs").SourceText.ToString();

        Assert.Contains("global::AppRuntime.AppRuntimeRegistration.AddOutcomeObserver<global::Shop.Hooks.Build>(builder, \"builds\",", source);
        Assert.DoesNotContain("builder.AddOutcomeObserver", source);
    }

    [Fact]
    public void A_type_of_the_project_named_like_Cores_registration_class_does_not_take_the_generated_calls()
    {
        const string clash = """
            namespace AppRuntime
            {
                public static class AppRuntimeRegistration
                {
                    public static void Unrelated() { }
                }
            }
            """;
        foreach (var references in new[] { CompiledApp.RunReferences, TestReferences.All })
        {
            var compilation = TestReferences.Compile("Shop", references, ("OrdersModule.cs", Samples.OrdersModule), ("Clash.cs", clash));
            var (result, output, diagnostics) = TestReferences.Run(compilation);
            Assert.Empty(diagnostics);
            // With Core referenced the project's own type hides Core's (CS0436 is a warning); the generated code must not add errors.
            var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            Assert.True(errors.Count == 0, "The generated code must compile:\n" + string.Join("\n", errors));
            var source = result.Results.Single().GeneratedSources.Single(s => s.HintName == "Shop.Orders.OrdersModule.g.cs").SourceText.ToString();
            Assert.DoesNotContain("AppRuntimeRegistration", source);
            Assert.Contains("builder.AddQueue<global::Shop.Orders.OrderPlaced>(", source);
        }
    }

    [Fact]
    public void With_only_AppRuntime_Abstractions_referenced_registrations_go_through_the_interface()
    {
        var source = ModuleSource(TestReferences.All);

        Assert.DoesNotContain("AppRuntimeRegistration", source);
        foreach (var method in GenericRegistrations)
            Assert.Contains("builder." + method, source);
    }
}
