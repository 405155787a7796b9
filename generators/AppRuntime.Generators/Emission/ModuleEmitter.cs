using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using AppRuntime.Generators.Model;
using AppRuntime.Generators.Parsing;

namespace AppRuntime.Generators.Emission;

/// <summary>
/// Emits a module's composition root: the <c>Add&lt;Module&gt;</c> extension that registers every service, config section,
/// queue, worker pool, source, handler and health contributor with explicit factories, plus the topology.
/// </summary>
internal static class ModuleEmitter
{
    private const string Di = "global::Microsoft.Extensions.DependencyInjection.";
    private const string Rt = "global::AppRuntime.";

    public static string Emit(ModuleEmitModel model)
    {
        var module = model.Module;
        var w = GeneratedHeader.Start();
        if (module.Namespace is not null)
            w.Open("namespace " + module.Namespace);
        w.Open("partial class " + module.ClassName);

        EmitTopology(w, model);
        EmitAdd(w, model);

        var serialized = module.Queues.Where(q => SerializerEmitter.EmitsClass(q.Serializer))
            .GroupBy(q => q.TaskType.FullyQualified, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderBy(q => q.TaskType.FullyQualified, StringComparer.Ordinal)
            .ToList();
        foreach (var queue in serialized)
        {
            w.Line();
            SerializerEmitter.Emit(w, queue.TaskType, queue.Serializer);
        }
        // Request types of mapped webhook sources that are no queue's task type get a serializer of their own.
        var requests = model.Sources.Where(s => s.Webhook is { IsMapped: true } wh && SerializerEmitter.EmitsClass(wh.RequestSerializer)
                && !module.Queues.Any(q => q.TaskType.FullyQualified == wh.RequestType.FullyQualified))
            .Select(s => s.Webhook!)
            .GroupBy(wh => wh.RequestType.FullyQualified, StringComparer.Ordinal)
            .Select(g => g.First())
            .OrderBy(wh => wh.RequestType.FullyQualified, StringComparer.Ordinal)
            .ToList();
        foreach (var request in requests)
        {
            w.Line();
            SerializerEmitter.Emit(w, request.RequestType, request.RequestSerializer);
        }
        if (serialized.Count + requests.Count > 0)
        {
            w.Line();
            SerializerEmitter.EmitHelpers(w);
        }

        w.Close();
        if (module.Namespace is not null)
            w.Close();
        return w.ToString();
    }

    private static void EmitTopology(CodeWriter w, ModuleEmitModel model)
    {
        var module = model.Module;
        w.Line("/// <summary>The module name declared by [ApplicationModule].</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("public const string ModuleName = " + GeneratedHeader.Literal(module.Name) + ";");
        w.Line();
        w.Line("/// <summary>The declared wiring of the module: sources, queues, worker pools and handlers.</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("public static " + Rt + "ModuleTopology Topology { get; } = new " + Rt + "ModuleTopology(");
        w.Line("    ModuleName,");
        w.Line("    new " + Rt + "SourceNode[]");
        w.Line("    {");
        foreach (var s in model.Sources.OrderBy(s => s.SourceName, StringComparer.Ordinal))
            w.Line("        new " + Rt + "SourceNode(" + Lit(s.SourceName!) + ", " + Lit(s.Queue!) + ", " + Lit(s.Type.Display) + "),");
        w.Line("    },");
        w.Line("    new " + Rt + "QueueNode[]");
        w.Line("    {");
        foreach (var q in module.Queues.OrderBy(q => q.Name, StringComparer.Ordinal))
            w.Line("        new " + Rt + "QueueNode(" + Lit(q.Name) + ", " + Lit(q.TaskType.Display) + ", " + Int(q.Capacity) + "),");
        w.Line("    },");
        w.Line("    new " + Rt + "PoolNode[]");
        w.Line("    {");
        foreach (var p in module.Pools.OrderBy(p => p.Queue, StringComparer.Ordinal))
            w.Line("        new " + Rt + "PoolNode(" + Lit(p.Queue) + ", " + Int(p.Workers) + ", " + Int(p.MaxAttempts) + "),");
        w.Line("    },");
        w.Line("    new " + Rt + "HandlerNode[]");
        w.Line("    {");
        foreach (var h in model.Handlers.OrderBy(h => h.Queue, StringComparer.Ordinal))
        {
            // The queues whose task type the handler's constructor asks an ITaskPublisher<T> for: the chain edges of the topology.
            var publishes = h.Dependencies
                .Where(d => d.OpenGenericKey == KnownNames.TaskPublisherInterface && d.TypeArguments.Count == 1)
                .SelectMany(d => module.Queues.Where(q => q.TaskType.FullyQualified == d.TypeArguments[0]).Select(q => q.Name))
                .Distinct(StringComparer.Ordinal).OrderBy(q => q, StringComparer.Ordinal).ToList();
            w.Line("        new " + Rt + "HandlerNode(" + Lit(h.Queue!) + ", " + Lit(h.Type.Display) + ")" +
                (publishes.Count == 0 ? "" : " { Publishes = new string[] { " + string.Join(", ", publishes.Select(Lit)) + " } }") + ",");
        }
        w.Line("    });");
        w.Line();
        w.Line("/// <summary>The topology as a Mermaid flowchart, for docs and the control plane.</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("public static string TopologyMermaid => Topology.ToMermaid();");
        w.Line();
    }

    private static void EmitAdd(CodeWriter w, ModuleEmitModel model)
    {
        var module = model.Module;
        w.Line("/// <summary>");
        w.Line("/// Registers module '" + Xml(module.Name) + "': its services, configuration sections, queues, worker pools, sources,");
        w.Line("/// handlers and health contributors, each with an explicit factory. Calling it again does nothing.");
        w.Line("/// </summary>");
        w.Line("/// <param name=\"builder\">The AppRuntime builder.</param>");
        w.Line("/// <returns>The same builder.</returns>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Open("public static " + Rt + "IAppRuntimeBuilder " + module.MethodName + "(this " + Rt + "IAppRuntimeBuilder builder)");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(builder);");
        w.Line("if (!builder.AddModule(Topology))");
        w.Line("    return builder;");
        w.Line("var services = builder.Services;");

        if (model.Services.Count > 0)
        {
            w.Line();
            w.Line("// Services");
            foreach (var s in model.Services.OrderBy(s => s.Type.FullyQualified, StringComparer.Ordinal))
            {
                var method = s.Lifetime switch
                {
                    LifetimeModel.Scoped => "AddScoped",
                    LifetimeModel.Transient => "AddTransient",
                    _ => "AddSingleton",
                };
                w.Line(Di + "ServiceCollectionServiceExtensions." + method + "<" + s.RegisteredAs.FullyQualified + ">(services, static sp => " + New(s) + ");");
            }
        }

        if (module.Imports.Count > 0)
        {
            w.Line();
            w.Line("// Imports: provided by the host; the runtime checks at start, before anything runs, that each is registered");
            foreach (var import in module.Imports.OrderBy(i => i.Type.FullyQualified, StringComparer.Ordinal))
            {
                w.Line(Di + "ServiceCollectionServiceExtensions.AddSingleton(services, new " + Rt + "ImportedService(typeof(" + import.Type.FullyQualified +
                    "), ModuleName));");
            }
        }

        if (model.ConfigSections.Count > 0)
        {
            w.Line();
            w.Line("// Configuration sections");
            foreach (var c in model.ConfigSections.OrderBy(c => c.FullyQualified, StringComparer.Ordinal))
            {
                w.Line(Register(model, "AddConfigSection", null) + "new " + Rt + "ConfigSectionDefinition<" + c.FullyQualified + ">(" + c.FullyQualified + ".ConfigSectionPath, " +
                    c.FullyQualified + ".BindConfigSection) { SecretKeys = " + c.FullyQualified + ".ConfigSecretKeys });");
            }
        }

        var pools = module.Pools.ToDictionary(p => p.Queue, StringComparer.Ordinal);
        if (module.Queues.Count > 0)
        {
            w.Line();
            w.Line("// Queues");
            foreach (var q in module.Queues.OrderBy(q => q.Name, StringComparer.Ordinal))
            {
                var settings = new List<string>
                {
                    "Capacity = " + Int(q.Capacity),
                    "VisibilityTimeout = global::System.TimeSpan.FromSeconds(" + Int(q.VisibilityTimeoutSeconds) + ")",
                };
                if (pools.TryGetValue(q.Name, out var pool))
                    settings.Add("MaxAttempts = " + Int(pool.MaxAttempts));
                if (q.Backend is not null)
                    settings.Add("Backend = " + Lit(q.Backend));
                var serializer = SerializerEmitter.Reference(q.TaskType, q.Serializer);
                w.Line(Register(model, "AddQueue", q.TaskType.FullyQualified).TrimEnd());
                w.Line("    new " + Rt + "QueueDefinition(" + Lit(q.Name) + ", " + Lit(q.TaskType.Display) + ") { " + string.Join(", ", settings) + " },");
                w.Line("    " + serializer + ");");
            }
        }

        if (module.Pools.Count > 0)
        {
            w.Line();
            w.Line("// Worker pools");
            foreach (var p in module.Pools.OrderBy(p => p.Queue, StringComparer.Ordinal))
            {
                // The declared Workers is the default; the runtime binds the pool's worker-count key when it starts.
                var workersKey = p.WorkersConfigKey is null ? "" : ", WorkersConfigKey = " + Lit(p.WorkersConfigKey);
                w.Line("builder.AddWorkerPool(new " + Rt + "WorkerPoolDefinition(" + Lit(p.Queue) + ") { Workers = " + Int(p.Workers) + workersKey + ", MaxAttempts = " +
                    Int(p.MaxAttempts) + ", RetryDelay = global::System.TimeSpan.FromMilliseconds(" + Int(p.RetryDelayMilliseconds) + ") });");
            }
        }

        if (model.Sources.Count > 0)
        {
            w.Line();
            w.Line("// Sources: one singleton each, also told task outcomes when it implements ITaskOutcomeObserver<T>");
            foreach (var s in model.Sources.OrderBy(s => s.SourceName, StringComparer.Ordinal))
            {
                var task = s.TaskTypes[0].FullyQualified;
                var queueTask = module.Queues.First(q => q.Name == s.Queue).TaskType.FullyQualified;
                if (s.TaskTypes.Any(t => t.FullyQualified == queueTask))
                    task = queueTask;
                if (s.Webhook is { } webhook)
                {
                    EmitWebhookSource(w, model, module, s, webhook, task);
                    continue;
                }
                w.Line(Di + "ServiceCollectionServiceExtensions.AddSingleton<" + s.Type.FullyQualified + ">(services, static sp => " + New(s) + ");");
                if (s.Schedule is { } schedule)
                {
                    // A scheduled source: the runtime's scheduler publishes what the class creates for each occurrence.
                    var settings = new List<string> { "TimeZone = " + Lit(schedule.TimeZone) };
                    if (schedule.Missed != 0)
                        settings.Add("Missed = (" + Rt + "MissedPolicy)" + Int(schedule.Missed));
                    if (schedule.Overlap != 0)
                        settings.Add("Overlap = (" + Rt + "OverlapPolicy)" + Int(schedule.Overlap));
                    w.Line(Rt + "ScheduledSourceBuilderExtensions.AddScheduledSource<" + task + ">(builder, new " + Rt + "ScheduledSourceDefinition(" +
                        Lit(s.SourceName!) + ", " + Lit(s.Queue!) + ", " + Lit(schedule.Cron) + ") { " + string.Join(", ", settings) + " }, static sp => " +
                        Resolve(s.Type.FullyQualified) + ");");
                }
                else
                {
                    // [TaskSource(Exclusive = true)]: one instance at a time runs it (AppRuntime:Sources:<name>:Exclusive overrides).
                    w.Line(Register(model, "AddSource", task) + "new " + Rt + "SourceDefinition(" + Lit(s.SourceName!) + ", " + Lit(s.Queue!) + ")" +
                        (s.Exclusive ? " { Exclusive = true }" : "") + ", static sp => " +
                        Resolve(s.Type.FullyQualified) + ");");
                }
                if (s.ObserverTaskTypes.Contains(task))
                    w.Line(Register(model, "AddOutcomeObserver", task) + Lit(s.Queue!) + ", static sp => " + Resolve(s.Type.FullyQualified) + ");");
            }
        }

        if (model.Handlers.Count > 0)
        {
            w.Line();
            w.Line("// Handlers: created in the task's DI scope, once per task");
            foreach (var h in model.Handlers.OrderBy(h => h.Queue, StringComparer.Ordinal))
            {
                var task = module.Queues.First(q => q.Name == h.Queue).TaskType.FullyQualified;
                w.Line(Register(model, "AddHandler", task) + Lit(h.Queue!) + ", static sp => " + New(h) + ");");
            }
        }

        if (model.HealthContributors.Count > 0)
        {
            w.Line();
            w.Line("// Health contributors");
            foreach (var h in model.HealthContributors.OrderBy(h => h.Type.FullyQualified, StringComparer.Ordinal))
                w.Line("builder.AddHealthContributor(static sp => " + New(h) + ");");
        }

        w.Line();
        w.Line("return builder;");
        w.Close();
    }

    /// <summary>
    /// The start of a generic registration call: through AppRuntime.Core's static <c>AppRuntimeRegistration</c> when the compilation
    /// sees it (a generic method called through an interface is resolved at run time in native AOT, slowly, once per type), else
    /// through the <c>IAppRuntimeBuilder</c> interface. Ends with the opening parenthesis and, for the static form, the builder.
    /// </summary>
    private static string Register(ModuleEmitModel model, string method, string? taskType)
    {
        var typeArguments = taskType is null ? "" : "<" + taskType + ">";
        return model.DirectRegistration
            ? Rt + "AppRuntimeRegistration." + method + typeArguments + "(builder, "
            : "builder." + method + typeArguments + "(";
    }

    /// <summary>
    /// A [WebhookSource]: its definition and serializer passed to AppRuntime.Webhooks' <c>AddWebhookSource</c>; the class itself is
    /// created (as a singleton) only when it maps requests or observes outcomes.
    /// </summary>
    private static void EmitWebhookSource(CodeWriter w, ModuleEmitModel model, ModuleModel module, ComponentModel s, WebhookModel webhook, string task)
    {
        var observer = s.ObserverTaskTypes.Contains(task);
        if (webhook.IsMapped || observer)
            w.Line(Di + "ServiceCollectionServiceExtensions.AddSingleton<" + s.Type.FullyQualified + ">(services, static sp => " + New(s) + ");");
        var settings = new List<string> { "Signature = " + Rt + "WebhookSignature." + webhook.Signature };
        if (webhook.SignatureHeader is not null)
            settings.Add("SignatureHeader = " + Lit(webhook.SignatureHeader));
        if (webhook.SignatureEncoding != "Hex")
            settings.Add("SignatureEncoding = " + Rt + "WebhookSignatureEncoding." + webhook.SignatureEncoding);
        if (webhook.SignaturePrefix is not null)
            settings.Add("SignaturePrefix = " + Lit(webhook.SignaturePrefix));
        if (webhook.EventIdHeader is not null)
            settings.Add("EventIdHeader = " + Lit(webhook.EventIdHeader));
        if (webhook.EventIdJsonPath is not null)
            settings.Add("EventIdJsonPath = " + Lit(webhook.EventIdJsonPath));
        var definition = "new " + Rt + "WebhookSourceDefinition(" + Lit(s.SourceName!) + ", " + Lit(s.Queue!) + ", " + Lit(webhook.Path) + ") { " +
            string.Join(", ", settings) + " }";
        var queue = module.Queues.First(q => q.Name == s.Queue);
        if (webhook.IsMapped)
        {
            var request = webhook.RequestType.FullyQualified;
            var sameAsQueue = module.Queues.FirstOrDefault(q => q.TaskType.FullyQualified == request);
            var serializer = sameAsQueue is not null
                ? SerializerEmitter.Reference(sameAsQueue.TaskType, sameAsQueue.Serializer)
                : SerializerEmitter.Reference(webhook.RequestType, webhook.RequestSerializer);
            w.Line(Rt + "WebhookAppRuntimeBuilderExtensions.AddWebhookSource<" + request + ", " + task + ">(builder,");
            w.Line("    " + definition + ",");
            w.Line("    " + serializer + ",");
            w.Line("    static sp => " + Resolve(s.Type.FullyQualified) + ");");
        }
        else
        {
            w.Line(Rt + "WebhookAppRuntimeBuilderExtensions.AddWebhookSource<" + task + ">(builder,");
            w.Line("    " + definition + ",");
            w.Line("    " + SerializerEmitter.Reference(queue.TaskType, queue.Serializer) + ");");
        }
        if (observer)
            w.Line(Register(model, "AddOutcomeObserver", task) + Lit(s.Queue!) + ", static sp => " + Resolve(s.Type.FullyQualified) + ");");
    }

    /// <summary>
    /// The Add method of a module that cannot be emitted (see the APPRT errors on its declaration), in a class of its own: calls to it
    /// compile, so the build shows the generator's errors and not a CS1061 as well.
    /// </summary>
    public static string EmitStub(ModuleStubModel stub)
    {
        var w = GeneratedHeader.Start();
        if (stub.Namespace is not null)
            w.Open("namespace " + stub.Namespace);
        w.Line("/// <summary>Stands in for the Add method of module '" + Xml(stub.ModuleName) + "', which has build errors.</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]");
        w.Open("internal static class " + stub.ClassName + "_AppRuntimeModuleWithErrors");
        w.Line("/// <summary>Throws: module '" + Xml(stub.ModuleName) + "' has build errors (see the APPRT diagnostics on its declaration).</summary>");
        w.Line("/// <param name=\"builder\">The AppRuntime builder.</param>");
        w.Line("/// <returns>Never returns.</returns>");
        w.Line("public static " + Rt + "IAppRuntimeBuilder " + stub.MethodName + "(this " + Rt + "IAppRuntimeBuilder builder) =>");
        w.Line("    throw new global::System.InvalidOperationException(" + Lit("Module '" + stub.ModuleName + "' has build errors (see the APPRT diagnostics on its declaration).") + ");");
        w.Close();
        if (stub.Namespace is not null)
            w.Close();
        return w.ToString();
    }

    /// <summary><c>new T(sp.GetRequiredService&lt;A&gt;(), ...)</c> for the chosen constructor.</summary>
    private static string New(ComponentModel component)
    {
        if (component.Dependencies.Count == 0)
            return "new " + component.Type.FullyQualified + "()";
        var args = component.Dependencies.Select(d => d.IsOptional
            ? Di + "ServiceProviderServiceExtensions.GetService<" + d.Type.FullyQualified + ">(sp)"
            : Resolve(d.Type.FullyQualified));
        return "new " + component.Type.FullyQualified + "(\n    " + string.Join(",\n    ", args) + ")";
    }

    private static string Resolve(string type) => Di + "ServiceProviderServiceExtensions.GetRequiredService<" + type + ">(sp)";

    private static string Lit(string value) => GeneratedHeader.Literal(value);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
