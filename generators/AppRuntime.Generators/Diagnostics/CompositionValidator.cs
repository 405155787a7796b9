using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Model;
using AppRuntime.Generators.Parsing;

namespace AppRuntime.Generators.Diagnostics;

/// <summary>Checks the whole composition (queues, handlers, dependencies, lifetimes, cycles) and decides what to emit.</summary>
internal static class CompositionValidator
{
    private const string Ms = "global::Microsoft.Extensions.";

    /// <summary>Services the host and the AppRuntime core register, accepted without a declaration.</summary>
    private static readonly HashSet<string> HostServices = new(StringComparer.Ordinal)
    {
        Ms + "Logging.ILoggerFactory",
        Ms + "Configuration.IConfiguration",
        Ms + "Hosting.IHostEnvironment",
        Ms + "Hosting.IHostApplicationLifetime",
        Ms + "DependencyInjection.IServiceScopeFactory",
        "global::System.IServiceProvider",
        "global::System.TimeProvider",
        "global::AppRuntime.ITraceFactory",
        "global::AppRuntime.RuntimeManager",
        "global::AppRuntime.ConfigurationManager",
        "global::AppRuntime.WorkerSupervisor",
        "global::AppRuntime.HealthRegistry",
        "global::AppRuntime.ControlPlaneService",
        "global::AppRuntime.TraceService",
    };

    private static readonly HashSet<string> OpenHostServices = new(StringComparer.Ordinal)
    {
        "Microsoft.Extensions.Logging.ILogger`1",
    };

    private static readonly HashSet<string> ConfigAccessors = new(StringComparer.Ordinal)
    {
        "Microsoft.Extensions.Options.IOptions`1",
        "Microsoft.Extensions.Options.IOptionsMonitor`1",
        "Microsoft.Extensions.Options.IOptionsSnapshot`1",
        KnownNames.ConfigSectionInterface,
    };

    public static CompositionResult Validate(CompositionInput input, CancellationToken ct)
    {
        var diagnostics = new List<DiagnosticInfo>();
        diagnostics.AddRange(input.StrayDeclarations);

        var sections = input.Sections.OrderBy(s => s.Type.FullyQualified, StringComparer.Ordinal).ToList();
        foreach (var section in sections)
            diagnostics.AddRange(section.Diagnostics);
        var configTypes = sections.Where(s => s.CanEmit)
            .SelectMany(s => s.Types)
            .GroupBy(t => t.Type.FullyQualified, StringComparer.Ordinal)
            .Select(g => WithoutLocations(g.OrderBy(t => t.IsRoot ? 0 : 1).First())) // a root section may also be nested in another
            .OrderBy(t => t.Type.FullyQualified, StringComparer.Ordinal)
            .ToEquatableArray();
        foreach (var file in input.Settings)
        {
            if (file.ParseError is not null)
                diagnostics.Add(file.ParseError);
        }
        // Keys the runtime itself reads (a pool's WorkersConfigKey) are known keys, wherever they sit.
        var runtimeKeys = input.Modules.SelectMany(m => m.Pools).Select(p => p.WorkersConfigKey).Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => k!.Trim());
        diagnostics.AddRange(AppSettingsValidator.Validate(sections, input.Settings.ToList(), runtimeKeys));

        var modules = input.Modules.OrderBy(m => m.Type.FullyQualified, StringComparer.Ordinal).ToList();
        // A queue declared with an invalid name is reported once, on the declaration: a handler, source or pool that names it
        // gets no second diagnostic for the same name.
        var invalidQueueNames = new HashSet<string>(modules.SelectMany(m => m.Queues).Select(q => q.Name).Where(n => !SymbolHelpers.IsValidName(n)),
            StringComparer.Ordinal);

        var components = input.Components
            .OrderBy(c => c.Kind)
            .ThenBy(c => c.Type.FullyQualified, StringComparer.Ordinal)
            .ToList();
        foreach (var component in components)
        {
            diagnostics.AddRange(component.Diagnostics.Where(d => !(d.Id == DiagnosticIds.InvalidName && d.Arguments.Count > 1 &&
                d.Arguments[0] == "Queue name" && invalidQueueNames.Contains(d.Arguments[1]))));
        }

        foreach (var module in modules)
            diagnostics.AddRange(module.Diagnostics);

        var emit = new List<ModuleEmitModel>();
        var stubs = new List<ModuleStubModel>();
        if (modules.Count == 0)
        {
            foreach (var component in components)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.NoModule, component.Location, component.Type.Display,
                    component.Webhook is null ? ComponentParser.AttributeName(component) : WebhookParser.AttributeName));
            }
        }
        else
        {
            // The module the application already uses is the one that stays: the one whose Add method it calls, else the one with
            // the most declarations; a module added later is the second one, flagged.
            var calls = new HashSet<string>(input.Facts.AddCalls, StringComparer.Ordinal);
            var first = modules
                .OrderByDescending(m => calls.Contains(m.MethodName))
                .ThenByDescending(m => m.Queues.Count + m.Pools.Count + m.Imports.Count)
                .ThenBy(m => m.Type.FullyQualified, StringComparer.Ordinal)
                .First();
            var primary = WithJsonContexts(first, input.JsonContexts);
            foreach (var extra in modules.Where(m => !ReferenceEquals(m, first)))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MultipleModules, extra.Location, extra.Name, primary.Name));
                stubs.Add(Stub(extra));
            }
            if (input.Facts.IsExecutable && !calls.Contains(primary.MethodName))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.ModuleNeverAdded, primary.Location, primary.Name, primary.MethodName));
            ct.ThrowIfCancellationRequested();
            var model = ValidateModule(primary, components, sections, input.Settings.ToList(), input.JsonContexts, input.Facts, diagnostics, out var declared);
            if (model is not null)
                emit.Add(model);
            else
                stubs.Add(Stub(primary));
            var workerKeys = primary.Pools.Select(p => p.WorkersConfigKey).Where(k => !string.IsNullOrWhiteSpace(k)).Select(k => k!.Trim());
            diagnostics.AddRange(AppSettingsValidator.ValidatePlatform(input.Settings.ToList(), primary.Name, declared.Queues, declared.Pools,
                workerKeys, input.Facts));
        }

        return new CompositionResult(diagnostics.ToEquatableArray(), emit.ToEquatableArray(), configTypes, stubs.ToEquatableArray());
    }

    private static ModuleStubModel Stub(ModuleModel module) => new(module.Namespace, module.ClassName, module.MethodName, module.Name);

    /// <summary>
    /// A queue whose task type a JsonSerializerContext of the compilation lists is serialized by that context (the app's explicit
    /// choice wins over the generated serializer); when several contexts list it, the first by fully qualified name.
    /// </summary>
    private static ModuleModel WithJsonContexts(ModuleModel module, EquatableArray<JsonContextModel> contexts)
    {
        if (contexts.IsEmpty)
            return module;
        var byType = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var context in contexts.OrderBy(c => c.TypeFullyQualified, StringComparer.Ordinal))
        {
            foreach (var type in context.Types)
            {
                if (!byType.ContainsKey(type))
                    byType[type] = context.TypeFullyQualified;
            }
        }
        return module with
        {
            Queues = module.Queues.Select(q => byType.TryGetValue(q.TaskType.FullyQualified, out var context)
                ? q with { Serializer = new SerializerModel(q.Serializer.IsSupported, q.Serializer.Reason, null,
                    EquatableArray<JsonObjectModel>.Empty, EquatableArray<JsonEnumModel>.Empty, context) }
                : q).ToEquatableArray(),
        };
    }

    private sealed class Provider(ComponentModel? service, LifetimeModel lifetime)
    {
        public ComponentModel? Service { get; } = service;

        public LifetimeModel Lifetime { get; } = lifetime;
    }

    /// <summary>The names the module declares, for the checks of the platform's settings.</summary>
    internal sealed class Declared
    {
        public List<string> Queues { get; } = [];

        public List<string> Pools { get; } = [];
    }

    /// <summary>Services registered more than once on purpose: the runtime and the host resolve every registration.</summary>
    private static readonly HashSet<string> MultiServices = new(StringComparer.Ordinal)
    {
        "global::AppRuntime.IDrainObserver",
        Ms + "Hosting.IHostedService",
    };

    private static ModuleEmitModel? ValidateModule(ModuleModel module, List<ComponentModel> components,
        List<ConfigSectionModel> sections, List<AppSettingsModel> settings, EquatableArray<JsonContextModel> jsonContexts, CompilationFacts facts,
        List<DiagnosticInfo> diagnostics, out Declared declared)
    {
        declared = new Declared();
        // Queues a misspelt name was meant for ("did you mean"): what is missing on them is already said by that APPRT0001.
        var meant = new HashSet<string>(StringComparer.Ordinal);
        // Queues and pools: names, settings, duplicates.
        var queues = new Dictionary<string, QueueModel>(StringComparer.Ordinal);
        var invalidNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var queue in module.Queues)
        {
            if (!SymbolHelpers.IsValidName(queue.Name))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, queue.NameLocation, "Queue name", queue.Name, SymbolHelpers.NameRule));
                invalidNames.Add(queue.Name);
                continue;
            }
            if (queue.Capacity < 1)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidSetting, queue.CapacityLocation, "Capacity", "queue '" + queue.Name + "'", "at least 1", Str(queue.Capacity)));
            if (queue.VisibilityTimeoutSeconds < 1)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidSetting, queue.VisibilityLocation, "VisibilityTimeoutSeconds", "queue '" + queue.Name + "'", "at least 1", Str(queue.VisibilityTimeoutSeconds)));
            if (queues.ContainsKey(queue.Name))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DuplicateQueue, queue.NameLocation, queue.Name));
                continue;
            }
            queues.Add(queue.Name, queue);
            declared.Queues.Add(queue.Name);
            if (queue.Backend is not { } backend)
                continue;
            if (facts.BackendsKnown && !facts.Backends.Contains(backend, StringComparer.OrdinalIgnoreCase))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.UnknownBackend, queue.Location, "Queue '" + queue.Name + "'", backend,
                    NameSuggestion.DidYouMean(backend, facts.Backends), string.Join(", ", facts.Backends)));
                continue;
            }
            if (!string.Equals(backend, "InMemory", StringComparison.OrdinalIgnoreCase) && !queue.Serializer.HasSerializer)
            {
                // At the member or constructor parameter at fault when it is in this project, else at [TaskQueue].
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.TaskTypeNotSerializable, queue.Serializer.ReasonLocation ?? queue.Location, queue.Name, backend,
                    queue.TaskType.Display, queue.Serializer.Reason ?? "unsupported type"));
            }
        }

        var pools = new Dictionary<string, PoolModel>(StringComparer.Ordinal);
        foreach (var pool in module.Pools)
        {
            if (pool.Workers < 1)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidSetting, pool.WorkersLocation, "Workers", "worker pool '" + pool.Queue + "'", "at least 1", Str(pool.Workers)));
            if (pool.MaxAttempts < 1)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidSetting, pool.MaxAttemptsLocation, "MaxAttempts", "worker pool '" + pool.Queue + "'", "at least 1", Str(pool.MaxAttempts)));
            if (pool.RetryDelayMilliseconds < 0)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidSetting, pool.RetryDelayLocation, "RetryDelayMilliseconds", "worker pool '" + pool.Queue + "'", "0 or more", Str(pool.RetryDelayMilliseconds)));
            if (pool.WorkersConfigKey is { } key && key.Trim().Length == 0)
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, pool.Location, "WorkersConfigKey", key, "use a configuration key such as 'MyApp:Workers'"));
            if (!queues.ContainsKey(pool.Queue))
            {
                if (!invalidNames.Contains(pool.Queue))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.UndeclaredQueue, pool.QueueLocation, "Worker pool", pool.Queue, pool.Queue, module.Name,
                        NameSuggestion.DidYouMean(pool.Queue, queues.Keys)));
                    if (NameSuggestion.Closest(pool.Queue, queues.Keys) is { } intended)
                        meant.Add(intended);
                }
                continue;
            }
            if (pools.ContainsKey(pool.Queue))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DuplicatePool, pool.QueueLocation, pool.Queue));
                continue;
            }
            pools.Add(pool.Queue, pool);
        }

        // Handlers and sources against their queues.
        var handlersByQueue = new Dictionary<string, ComponentModel>(StringComparer.Ordinal);
        var producedQueues = new HashSet<string>(StringComparer.Ordinal);
        var sourceNames = new Dictionary<string, ComponentModel>(StringComparer.Ordinal);
        var handlers = new List<ComponentModel>();
        var sources = new List<ComponentModel>();
        foreach (var component in components.Where(c => c.Kind is ComponentKind.Handler or ComponentKind.Source))
        {
            var kindName = component.Kind == ComponentKind.Handler ? "Handler" : "Source";
            if (component.Queue is null || !SymbolHelpers.IsValidName(component.Queue))
                continue;
            if (!queues.TryGetValue(component.Queue, out var queue))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.UndeclaredQueue, component.QueueLocation, kindName, component.Type.Display, component.Queue, module.Name,
                    NameSuggestion.DidYouMean(component.Queue, queues.Keys)));
                if (NameSuggestion.Closest(component.Queue, queues.Keys) is { } intended)
                    meant.Add(intended);
                continue;
            }
            if (component.Kind == ComponentKind.Handler)
            {
                if (handlersByQueue.TryGetValue(queue.Name, out var first))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DuplicateHandler, component.Location, component.Type.Display, queue.Name, first.Type.Display));
                    continue;
                }
                handlersByQueue.Add(queue.Name, component);
            }
            else
            {
                producedQueues.Add(queue.Name);
                if (component.SourceName is { } sourceName && sourceNames.TryGetValue(sourceName, out var other))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DuplicateSource, component.SourceNameLocation ?? component.Location, sourceName, component.Type.Display, other.Type.Display));
                    continue;
                }
                if (component.SourceName is not null)
                    sourceNames[component.SourceName] = component;
            }
            if (component.TaskTypes.Count > 0 && !component.TaskTypes.Any(t => t.FullyQualified == queue.TaskType.FullyQualified))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.TaskTypeMismatch, component.Location, kindName, component.Type.Display,
                    string.Join(", ", component.TaskTypes.Select(t => t.Display)), queue.Name, queue.TaskType.Display));
                continue;
            }
            if (!component.IsUsable)
                continue;
            if (component.Kind == ComponentKind.Handler)
            {
                handlers.Add(component);
                if (pools.TryGetValue(queue.Name, out var pool) && pool.Workers > 1)
                {
                    foreach (var field in component.MutableFields)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MutableHandlerState, field.Location, component.Type.Display, field.Name, queue.Name, Str(pool.Workers)));
                }
            }
            else
            {
                sources.Add(component);
            }
        }

        // A queue with a handler and no [WorkerPool] gets a default pool of one worker (information, not an error: the queue works).
        var defaultPools = new List<PoolModel>();
        foreach (var queue in queues.Values.Where(q => handlersByQueue.ContainsKey(q.Name) && !pools.ContainsKey(q.Name)))
        {
            var pool = new PoolModel(queue.Name, 1, 5, 1000, null, null, null, null, null, null);
            pools.Add(queue.Name, pool);
            defaultPools.Add(pool);
            if (!meant.Contains(queue.Name))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DefaultWorkerPool, queue.NameLocation, queue.Name));
        }
        declared.Pools.AddRange(pools.Keys);

        // Providers: declared services, config sections, publishers of declared queues, host services, imports.
        var providers = new Dictionary<string, Provider>(StringComparer.Ordinal);
        var services = components.Where(c => c.Kind == ComponentKind.Service).ToList();
        var registeredBy = new Dictionary<string, ComponentModel>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            var key = service.RegisteredAs.FullyQualified;
            if (registeredBy.TryGetValue(key, out var earlier) && !MultiServices.Contains(key))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DuplicateService, service.Location, service.RegisteredAs.Display,
                    earlier.Type.Display, service.Type.Display));
                continue;
            }
            registeredBy[key] = service;
            providers[key] = new Provider(service.IsUsable ? service : null, service.Lifetime);
        }
        var configKeys = new HashSet<string>(sections.Select(s => s.Type.FullyQualified), StringComparer.Ordinal);
        var taskTypes = new HashSet<string>(queues.Values.Select(q => q.TaskType.FullyQualified), StringComparer.Ordinal);
        var imports = new HashSet<string>(module.Imports.Select(i => i.Type.FullyQualified), StringComparer.Ordinal);

        foreach (var component in components.Where(c => c.IsUsable))
        {
            var singleton = component.Kind is ComponentKind.Source or ComponentKind.HealthContributor ||
                (component.Kind == ComponentKind.Service && component.Lifetime == LifetimeModel.Singleton);
            foreach (var dependency in component.Dependencies)
            {
                var key = dependency.Type.FullyQualified;
                if (dependency.OpenGenericKey == KnownNames.TaskPublisherInterface && dependency.TypeArguments.Count == 1)
                {
                    var task = dependency.TypeArguments[0];
                    foreach (var q in queues.Values.Where(q => q.TaskType.FullyQualified == task))
                        producedQueues.Add(q.Name);
                    if (taskTypes.Contains(task))
                        continue;
                }
                if (providers.TryGetValue(key, out var provider))
                {
                    if (singleton && provider.Lifetime == LifetimeModel.Scoped)
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.LifetimeMismatch, dependency.Location ?? component.Location,
                            component.Kind == ComponentKind.Service ? "Singleton service" : ComponentParser.AttributeName(component),
                            component.Type.Display, dependency.Type.Display));
                    continue;
                }
                if (HostServices.Contains(key) || imports.Contains(key) || configKeys.Contains(key))
                    continue;
                if (dependency.OpenGenericKey is { } open)
                {
                    if (OpenHostServices.Contains(open))
                        continue;
                    if (ConfigAccessors.Contains(open) && dependency.TypeArguments.Count == 1 && configKeys.Contains(dependency.TypeArguments[0]))
                        continue;
                }
                if (dependency.IsOptional)
                    continue;
                // The class of a service registered as an interface is not itself a service: say so, and what to depend on.
                var registeredAs = services.FirstOrDefault(s => s.Type.FullyQualified == key && s.AsType is not null);
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.UnresolvedDependency, dependency.Location ?? component.Location,
                    dependency.ParameterName, component.Type.Display, dependency.Type.Display, registeredAs is null ? "" :
                        "; " + registeredAs.Type.Display + " is registered as " + registeredAs.AsType!.Display + " ([Service(As = typeof(" +
                        registeredAs.AsType.Display + "))]): depend on " + registeredAs.AsType.Display + " instead"));
            }
        }

        FindCycles(services.Where(s => s.IsUsable).ToList(), providers, diagnostics);
        sources = WebhookValidator.Validate(sources, queues, settings, jsonContexts, diagnostics);

        foreach (var queue in queues.Values.Where(q => !meant.Contains(q.Name)))
        {
            if (!components.Any(c => c.Kind == ComponentKind.Handler && c.Queue == queue.Name))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.QueueWithoutHandler, queue.NameLocation, queue.Name));
            if (!producedQueues.Contains(queue.Name) && !components.Any(c => c.Kind == ComponentKind.Source && c.Queue == queue.Name))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.QueueWithoutProducer, queue.NameLocation, queue.Name, queue.TaskType.Display));
        }

        if (!module.CanEmit)
            return null;
        // Emission models carry no locations, so an edit that only moves declarations does not re-emit code.
        var cleanModule = module with
        {
            Location = null,
            NameLocation = null,
            Queues = module.Queues.Where(q => queues.TryGetValue(q.Name, out var kept) && ReferenceEquals(kept, q))
                .Select(q => q with
                {
                    Location = null, NameLocation = null, CapacityLocation = null, VisibilityLocation = null,
                    Serializer = q.Serializer with { ReasonLocation = null },
                }).ToEquatableArray(),
            Pools = module.Pools.Where(p => pools.TryGetValue(p.Queue, out var kept) && ReferenceEquals(kept, p))
                .Concat(defaultPools)
                .Select(p => p with { Location = null, QueueLocation = null, WorkersLocation = null, MaxAttemptsLocation = null, RetryDelayLocation = null })
                .ToEquatableArray(),
            Imports = module.Imports.Select(i => i with { Location = null }).ToEquatableArray(),
        };
        return new ModuleEmitModel(
            cleanModule,
            services.Where(s => s.IsUsable).Select(WithoutLocations).ToEquatableArray(),
            sources.Select(WithoutLocations).ToEquatableArray(),
            handlers.Select(WithoutLocations).ToEquatableArray(),
            components.Where(c => c.Kind == ComponentKind.HealthContributor && c.IsUsable).Select(WithoutLocations).ToEquatableArray(),
            sections.Where(s => s.CanEmit).Select(s => s.Type).ToEquatableArray(),
            facts.DirectRegistration);
    }

    private static ComponentModel WithoutLocations(ComponentModel c) => c with
    {
        Location = null,
        QueueLocation = null,
        SourceNameLocation = null,
        MutableFields = EquatableArray<MutableFieldModel>.Empty,
        Dependencies = c.Dependencies.Select(d => d with { Location = null }).ToEquatableArray(),
        Webhook = c.Webhook is null ? null : c.Webhook with { PathLocation = null, SignatureLocation = null },
        Schedule = c.Schedule is null ? null : c.Schedule with { CronLocation = null, TimeZoneLocation = null },
        Diagnostics = EquatableArray<DiagnosticInfo>.Empty,
    };

    /// <summary>A configuration type for emission: member locations dropped so moving code does not re-emit binders.</summary>
    public static ConfigTypeModel WithoutLocations(ConfigTypeModel t) => t with
    {
        Members = t.Members.Select(m => m with { Location = null }).ToEquatableArray(),
    };

    /// <summary>Reports each cycle among services once, as a chain starting at the smallest type name.</summary>
    private static void FindCycles(List<ComponentModel> services, Dictionary<string, Provider> providers, List<DiagnosticInfo> diagnostics)
    {
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new List<ComponentModel>();

        void Visit(ComponentModel service)
        {
            var key = service.Type.FullyQualified;
            state[key] = 1;
            stack.Add(service);
            foreach (var dependency in service.Dependencies)
            {
                if (!providers.TryGetValue(dependency.Type.FullyQualified, out var provider) || provider.Service is null)
                    continue;
                var next = provider.Service;
                var nextKey = next.Type.FullyQualified;
                state.TryGetValue(nextKey, out var s);
                if (s == 0)
                {
                    Visit(next);
                }
                else if (s == 1)
                {
                    var start = stack.FindIndex(x => x.Type.FullyQualified == nextKey);
                    var cycle = stack.Skip(start).ToList();
                    var min = cycle.Select((c, i) => (c, i)).OrderBy(x => x.c.Type.FullyQualified, StringComparer.Ordinal).First().i;
                    var rotated = cycle.Skip(min).Concat(cycle.Take(min)).ToList();
                    var chain = string.Join(" -> ", rotated.Select(c => c.Type.Display)) + " -> " + rotated[0].Type.Display;
                    if (reported.Add(chain))
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DependencyCycle, rotated[0].Location, chain));
                }
            }
            stack.RemoveAt(stack.Count - 1);
            state[key] = 2;
        }

        foreach (var service in services)
        {
            if (!state.ContainsKey(service.Type.FullyQualified))
                Visit(service);
        }
    }

    private static string Str(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
