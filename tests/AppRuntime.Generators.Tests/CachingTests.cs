using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace AppRuntime.Generators.Tests;

/// <summary>Layer (c): incremental caching. Edits that do not change the declarations leave every model step Cached or Unchanged.</summary>
public sealed class CachingTests
{
    /// <summary>
    /// Steps whose outputs must survive an unrelated edit. <see cref="TrackingNames.DiagnosticsReport"/> is excluded on purpose:
    /// it joins the (cached) diagnostics with the new compilation only to rebuild source locations for #pragma.
    /// </summary>
    private static readonly string[] ModelSteps = TrackingNames.All.Where(n => n != TrackingNames.DiagnosticsReport).ToArray();

    private static readonly AdditionalText Settings = new InMemoryAdditionalText("/app/appsettings.json",
        """{ "Shop": { "Orders": { "ApiBaseUrl": "https://shop.example.com", "Warehouses": [ "north" ] } }, "AppRuntime": { "Webhooks": { "Sources": { "checkout": { "Secrets": [] } } } } }""");

    [Fact]
    public void An_unrelated_edit_leaves_every_step_cached_or_unchanged()
    {
        var (driver, compilation) = FirstRun();
        var unrelated = compilation.SyntaxTrees.Single(t => t.FilePath == "Unrelated.cs");
        var edited = compilation.ReplaceSyntaxTree(unrelated,
            CSharpSyntaxTree.ParseText(Samples.Unrelated.Replace("=> 1;", "=> 2;", StringComparison.Ordinal), TestReferences.ParseOptions, "Unrelated.cs"));

        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result);
    }

    [Fact]
    public void Editing_a_handler_method_body_leaves_every_step_cached_or_unchanged()
    {
        var (driver, compilation) = FirstRun();
        var edited = EditModule(compilation, "Order {OrderId} stored", "Order {OrderId} stowed");

        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        AssertAllCachedOrUnchanged(result);
    }

    [Fact]
    public void An_edit_that_moves_declarations_updates_diagnostic_locations_but_does_not_re_emit_code()
    {
        var (driver, compilation) = FirstRun();
        // Longer text shifts every declaration below it: locations change, generated code does not.
        var edited = EditModule(compilation, "Order {OrderId} stored", "Order {OrderId} was stored in the order store");

        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        // The models below the edit carry new locations (for diagnostics), so the collected input changes...
        Assert.Contains(result.TrackedSteps[TrackingNames.CompositionInput].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        // ...but the emission models hold no locations, so no file is generated again.
        foreach (var name in new[] { TrackingNames.Composition, TrackingNames.ModuleOutputs, TrackingNames.ConfigOutputs })
        {
            Assert.All(result.TrackedSteps[name].SelectMany(s => s.Outputs),
                o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {o.Reason}"));
        }
    }

    private static Compilation EditModule(Compilation compilation, string from, string to)
    {
        var module = compilation.SyntaxTrees.Single(t => t.FilePath == "OrdersModule.cs");
        var text = module.GetText().ToString().Replace(from, to, StringComparison.Ordinal);
        Assert.NotEqual(module.GetText().ToString(), text);
        return compilation.ReplaceSyntaxTree(module, module.WithChangedText(SourceText.From(text)));
    }

    [Fact]
    public void Adding_a_handler_re_runs_the_composition_and_the_module_output()
    {
        var (driver, compilation) = FirstRun();
        var edited = compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("""
            using System.Threading;
            using System.Threading.Tasks;
            using AppRuntime;

            namespace Shop.Orders;

            public sealed record Refund(string OrderId);

            [TaskHandler("refunds")]
            public sealed class RefundHandler : ITaskHandler<Refund>
            {
                public ValueTask HandleAsync(Refund task, TaskContext context, CancellationToken cancellationToken) => default;
            }
            """, TestReferences.ParseOptions, "Refunds.cs"));

        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();

        // The new handler names an undeclared queue: the composition and its diagnostics must change.
        Assert.Contains(result.TrackedSteps[TrackingNames.Composition].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(result.Diagnostics, d => d.Id == Diagnostics.DiagnosticIds.UndeclaredQueue);
    }

    [Fact]
    public void Pipeline_outputs_hold_no_symbols_syntax_locations_or_compilations()
    {
        var (driver, compilation) = FirstRun();
        var result = driver.GetRunResult().Results.Single();
        foreach (var name in ModelSteps)
        {
            if (!result.TrackedSteps.TryGetValue(name, out var steps))
                continue;
            foreach (var step in steps)
            {
                foreach (var (value, _) in step.Outputs)
                    AssertPlainData(value, name, new HashSet<object>(ReferenceEqualityComparer.Instance));
            }
        }
        Assert.NotNull(compilation);
    }

    /// <summary>A JsonSerializerContext (for a type that is no task type), so the JsonContexts step has an item.</summary>
    private const string JsonContext = """
        using System.Text.Json.Serialization;

        namespace Shop.Orders;

        [JsonSerializable(typeof(int))]
        public partial class ShopJson : JsonSerializerContext;
        """;

    /// <summary>A webhook source with a request type of its own, so the WebhookSources step has an item.</summary>
    private const string Hooks = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;

        namespace Shop.Orders;

        public sealed record CheckoutRequest(string Id, string Customer);

        [WebhookSource("orders", Name = "checkout", Path = "/hooks/checkout", Signature = WebhookSignature.Stripe)]
        public sealed class CheckoutHook : IWebhookSource<CheckoutRequest, OrderPlaced>
        {
            public ValueTask<WebhookMapping<OrderPlaced>> MapAsync(CheckoutRequest request, WebhookRequest webhook, CancellationToken cancellationToken) =>
                new(WebhookMapping<OrderPlaced>.Accept(new OrderPlaced(request.Id, request.Customer, webhook.ReceivedAt, Priority.Normal, Array.Empty<OrderLine>())));
        }

        [ScheduledSource("orders", Name = "nightly", Cron = "0 2 * * *", TimeZone = "Europe/Berlin")]
        public sealed class NightlyOrder : IScheduledSource<OrderPlaced>
        {
            public OrderPlaced Create(ScheduledOccurrence occurrence) =>
                new OrderPlaced(occurrence.TaskId, "scheduler", occurrence.Time, Priority.Normal, Array.Empty<OrderLine>());
        }
        """;

    private static (GeneratorDriver Driver, Compilation Compilation) FirstRun()
    {
        var compilation = TestReferences.Compile("Shop", TestReferences.All,
            ("OrdersModule.cs", Samples.OrdersModule), ("Unrelated.cs", Samples.Unrelated), ("Json.cs", JsonContext), ("Hooks.cs", Hooks));
        var driver = TestReferences.Driver([Settings]).RunGenerators(compilation);
        var first = driver.GetRunResult().Results.Single();
        Assert.Empty(first.Diagnostics);
        // Steps that produced items (the Stray* steps only produce diagnostics for misplaced attributes, so they stay empty here).
        foreach (var name in ModelSteps.Where(n => !n.StartsWith("Stray", StringComparison.Ordinal)))
            Assert.True(first.TrackedSteps.ContainsKey(name), $"Step {name} did not run.");
        return (driver, compilation);
    }

    private static void AssertAllCachedOrUnchanged(GeneratorRunResult result)
    {
        var offenders = new List<string>();
        foreach (var name in ModelSteps)
        {
            if (!result.TrackedSteps.TryGetValue(name, out var steps))
                continue;
            foreach (var step in steps)
            {
                foreach (var (_, reason) in step.Outputs)
                {
                    if (reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
                        offenders.Add($"{name}: {reason}");
                }
            }
        }
        foreach (var (_, reason) in result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs))
        {
            if (reason is not (IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged))
                offenders.Add($"output: {reason}");
        }
        Assert.True(offenders.Count == 0, "Steps re-ran: " + string.Join(", ", offenders));
    }

    private static void AssertPlainData(object? value, string step, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !seen.Add(value))
            return;
        Assert.False(value is ISymbol or SyntaxNode or Location or Compilation or SemanticModel or SyntaxTree,
            $"Step {step} holds a {value.GetType().Name}; pipeline models must be plain values.");
        if (value is IEnumerable items)
        {
            foreach (var item in items)
                AssertPlainData(item, step, seen);
            return;
        }
        if (value.GetType().Namespace?.StartsWith("AppRuntime.Generators", StringComparison.Ordinal) != true &&
            !value.GetType().IsGenericType)
            return;
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length == 0)
                AssertPlainData(property.GetValue(value), step, seen);
        }
    }
}
