using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using AppRuntime.Generators.Diagnostics;
using AppRuntime.Generators.Emission;
using AppRuntime.Generators.Model;
using AppRuntime.Generators.Parsing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AppRuntime.Generators;

/// <summary>
/// The AppRuntime incremental generator: reads the attributes of AppRuntime.Abstractions and emits the module
/// composition root, configuration binders, task serializers and topology; reports composition mistakes as diagnostics.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class AppRuntimeGenerator : IIncrementalGenerator
{
    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var modules = context.SyntaxProvider.ForAttributeWithMetadataName(KnownNames.ApplicationModuleAttribute,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, ct) => ModuleParser.Parse(ctx, ct))
            .Where(static m => m is not null)
            .Select(static (m, _) => m!)
            .WithTrackingName(TrackingNames.Modules);

        var strayQueues = Stray(context, KnownNames.TaskQueueAttribute, "TaskQueue", TrackingNames.StrayQueues);
        var strayPools = Stray(context, KnownNames.WorkerPoolAttribute, "WorkerPool", TrackingNames.StrayPools);
        var strayImports = Stray(context, KnownNames.ImportServiceAttribute, "ImportService", TrackingNames.StrayImports);

        var sources = Components(context, KnownNames.TaskSourceAttribute, ComponentKind.Source, TrackingNames.Sources);
        var webhooks = context.SyntaxProvider.ForAttributeWithMetadataName(KnownNames.WebhookSourceAttribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (ctx, ct) => WebhookParser.Parse(ctx, ct))
            .Where(static c => c is not null)
            .Select(static (c, _) => c!)
            .WithTrackingName(TrackingNames.WebhookSources);
        var scheduled = context.SyntaxProvider.ForAttributeWithMetadataName(KnownNames.ScheduledSourceAttribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (ctx, ct) => ComponentParser.ParseScheduled(ctx, ct))
            .Where(static c => c is not null)
            .Select(static (c, _) => c!)
            .WithTrackingName(TrackingNames.ScheduledSources);
        // Webhook and scheduled sources are sources: they join the other sources' list, so every source rule applies to them too.
        var allSources = sources.Collect().Combine(webhooks.Collect()).Select(static (x, _) => x.Left.AddRange(x.Right))
            .Combine(scheduled.Collect()).Select(static (x, _) => x.Left.AddRange(x.Right));
        var handlers = Components(context, KnownNames.TaskHandlerAttribute, ComponentKind.Handler, TrackingNames.Handlers);
        var services = Components(context, KnownNames.ServiceAttribute, ComponentKind.Service, TrackingNames.Services);
        var health = Components(context, KnownNames.HealthContributorAttribute, ComponentKind.HealthContributor, TrackingNames.HealthContributors);

        var sections = context.SyntaxProvider.ForAttributeWithMetadataName(KnownNames.ConfigSectionAttribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (ctx, ct) => ConfigSectionParser.Parse(ctx, ct))
            .Where(static s => s is not null)
            .Select(static (s, _) => s!)
            .WithTrackingName(TrackingNames.ConfigSections);

        var settings = context.AdditionalTextsProvider
            .Where(static t => AppSettingsParser.IsAppSettings(t))
            .Select(static (t, ct) => AppSettingsParser.Parse(t, ct))
            .WithTrackingName(TrackingNames.AppSettings);

        var jsonContexts = context.SyntaxProvider.ForAttributeWithMetadataName(KnownNames.JsonSerializableAttribute,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, _) => JsonContextParser.Parse(ctx))
            .Where(static c => c is not null)
            .Select(static (c, _) => c!)
            .WithTrackingName(TrackingNames.JsonContexts);

        // What the compilation as a whole tells: an executable? which Add... methods does it call? which queue backends exist?
        var addCalls = context.SyntaxProvider.CreateSyntaxProvider(
                static (node, _) => CompilationFactsReader.AddCallName(node) is not null,
                static (ctx, _) => CompilationFactsReader.AddCallName(ctx.Node)!)
            .Collect()
            .Select(static (names, _) => names.Distinct(System.StringComparer.Ordinal).OrderBy(n => n, System.StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.AddCalls);
        var facts = context.CompilationProvider
            .Select(static (compilation, ct) => CompilationFactsReader.Read(compilation, ct))
            .WithTrackingName(TrackingNames.CompilationFacts)
            .Combine(addCalls)
            .Select(static (x, _) => x.Left with { AddCalls = x.Right });

        var input = modules.Collect()
            .Combine(allSources)
            .Combine(handlers.Collect())
            .Combine(services.Collect())
            .Combine(health.Collect())
            .Combine(sections.Collect())
            .Combine(strayQueues.Collect())
            .Combine(strayPools.Collect())
            .Combine(strayImports.Collect())
            .Combine(settings.Collect())
            .Combine(jsonContexts.Collect())
            .Combine(facts)
            .Select(static (x, _) =>
            {
                var (((((((((((m, src), h), svc), hc), cs), sq), sp), si), st), jc), f) = x;
                return new CompositionInput(
                    m.ToEquatableArray(),
                    src.Concat(h).Concat(svc).Concat(hc).ToEquatableArray(),
                    cs.ToEquatableArray(),
                    sq.Concat(sp).Concat(si).ToEquatableArray(),
                    st.Distinct().ToEquatableArray(), // a file passed twice (by the package's props and by the project) counts once
                    jc.OrderBy(c => c.TypeFullyQualified, System.StringComparer.Ordinal).ToEquatableArray(),
                    f);
            })
            .WithTrackingName(TrackingNames.CompositionInput);

        var composition = input
            .Select(static (x, ct) => CompositionValidator.Validate(x, ct))
            .WithTrackingName(TrackingNames.Composition);

        // Diagnostics have their own output, separate from the source output.
        var diagnostics = composition
            .Select(static (r, _) => r.Diagnostics)
            .WithTrackingName(TrackingNames.Diagnostics);
        // The compilation joins only here, after every model step, to turn stored file spans back into source locations
        // of its syntax trees: #pragma suppression applies only to those (a location made from a path alone is not checked).
        var diagnosticsToReport = diagnostics
            .Combine(context.CompilationProvider)
            .WithTrackingName(TrackingNames.DiagnosticsReport);
        context.RegisterSourceOutput(diagnosticsToReport, static (spc, pair) =>
        {
            var (items, compilation) = pair;
            if (items.IsEmpty)
                return;
            var trees = new Dictionary<string, SyntaxTree>(System.StringComparer.Ordinal);
            foreach (var tree in compilation.SyntaxTrees)
                trees[tree.FilePath] = tree;
            foreach (var item in items)
                spc.ReportDiagnostic(item.ToDiagnostic(trees));
        });

        var moduleOutputs = composition
            .SelectMany(static (r, _) => r.Modules)
            .WithTrackingName(TrackingNames.ModuleOutputs);
        context.RegisterSourceOutput(moduleOutputs, static (spc, module) =>
            spc.AddSource(module.HintName, ModuleEmitter.Emit(module)));

        // A module that cannot be emitted still gets its Add method (it throws), so a call to it adds no compiler error.
        var stubOutputs = composition
            .SelectMany(static (r, _) => r.Stubs)
            .WithTrackingName(TrackingNames.StubOutputs);
        context.RegisterSourceOutput(stubOutputs, static (spc, stub) =>
            spc.AddSource(stub.HintName, ModuleEmitter.EmitStub(stub)));

        var configOutputs = composition
            .Select(static (r, _) => r.ConfigTypes)
            .WithTrackingName(TrackingNames.ConfigOutputs);
        context.RegisterSourceOutput(configOutputs, static (spc, types) =>
        {
            var all = new Dictionary<string, ConfigTypeModel>(System.StringComparer.Ordinal);
            foreach (var type in types)
                all[type.Type.FullyQualified] = type;
            foreach (var type in types)
                spc.AddSource(ConfigBinderEmitter.HintName(type), ConfigBinderEmitter.Emit(type, all));
        });
    }

    private static IncrementalValuesProvider<ComponentModel> Components(IncrementalGeneratorInitializationContext context,
        string attribute, ComponentKind kind, string trackingName) =>
        context.SyntaxProvider.ForAttributeWithMetadataName(attribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                (ctx, ct) => ComponentParser.Parse(ctx, kind, ct))
            .Where(static c => c is not null)
            .Select(static (c, _) => c!)
            .WithTrackingName(trackingName);

    private static IncrementalValuesProvider<DiagnosticInfo> Stray(IncrementalGeneratorInitializationContext context,
        string attribute, string attributeName, string trackingName) =>
        context.SyntaxProvider.ForAttributeWithMetadataName(attribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                (ctx, ct) => ModuleParser.ParseStray(ctx, attributeName, ct))
            .Where(static d => d is not null)
            .Select(static (d, _) => d!)
            .WithTrackingName(trackingName);
}
