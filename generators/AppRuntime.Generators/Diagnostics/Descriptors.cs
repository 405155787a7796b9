using System.Collections.Generic;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Diagnostics;

/// <summary>The diagnostic descriptors, looked up by ID when a <see cref="DiagnosticInfo"/> is reported.</summary>
internal static class Descriptors
{
    private const string Composition = "AppRuntime.Composition";
    private const string Configuration = "AppRuntime.Configuration";
    private const string Declaration = "AppRuntime.Declaration";
    private const string Scheduling = "AppRuntime.Scheduling";
    private const string HelpRoot = "https://github.com/appruntime/appruntime/blob/main/docs/diagnostics/";

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = new();

    public static readonly DiagnosticDescriptor UndeclaredQueue = Make(DiagnosticIds.UndeclaredQueue,
        "Queue is not declared",
        "{0} '{1}' names queue '{2}', which no [TaskQueue] of module '{3}' declares{4}",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor TaskTypeMismatch = Make(DiagnosticIds.TaskTypeMismatch,
        "Task type differs from the queue's task type",
        "{0} '{1}' works on {2}, but queue '{3}' carries {4}",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor QueueWithoutHandler = Make(DiagnosticIds.QueueWithoutHandler,
        "Queue has no handler",
        "Queue '{0}' has no [TaskHandler]: its tasks are never processed",
        Composition, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor QueueWithoutProducer = Make(DiagnosticIds.QueueWithoutProducer,
        "Queue has no producer",
        "Queue '{0}' has no [TaskSource] and no component depends on ITaskPublisher<{1}>",
        Composition, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor DuplicateQueue = Make(DiagnosticIds.DuplicateQueue,
        "Two queues share a name",
        "Queue '{0}' is declared more than once",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DuplicateHandler = Make(DiagnosticIds.DuplicateHandler,
        "Two handlers for one queue",
        "Handler '{0}' is a second handler for queue '{1}', which '{2}' already handles",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnresolvedDependency = Make(DiagnosticIds.UnresolvedDependency,
        "Constructor dependency is not provided",
        "Parameter '{0}' of '{1}' needs {2}, which no [Service], [ConfigSection], declared queue, host service or [ImportService] provides{3}",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DependencyCycle = Make(DiagnosticIds.DependencyCycle,
        "Dependency cycle",
        "Services depend on each other in a cycle: {0}",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor LifetimeMismatch = Make(DiagnosticIds.LifetimeMismatch,
        "Singleton depends on a scoped service",
        "{0} '{1}' lives for the whole application but depends on scoped (per-task) service {2}",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MustBePartial = Make(DiagnosticIds.MustBePartial,
        "Type must be partial",
        "'{0}' must be declared partial: the generator adds {1} to it",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MustNotBeAbstract = Make(DiagnosticIds.MustNotBeAbstract,
        "Attributed type must be a concrete class",
        "'{0}' is abstract or static, so the generator cannot create it for [{1}]",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MustNotBeGeneric = Make(DiagnosticIds.MustNotBeGeneric,
        "Attributed type must not be generic",
        "'{0}' is generic, so [{1}] cannot name a single type to create",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor Inaccessible = Make(DiagnosticIds.Inaccessible,
        "Type or constructor is not accessible",
        "'{0}' is not accessible to generated code: {1}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor AmbiguousConstructors = Make(DiagnosticIds.AmbiguousConstructors,
        "No single constructor to use",
        "'{0}' {1}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidSetting = Make(DiagnosticIds.InvalidSetting,
        "Setting out of range",
        "{0} of {1} must be {2} (was {3})",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidName = Make(DiagnosticIds.InvalidName,
        "Invalid name",
        "{0} '{1}' is invalid: {2}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnbindableMember = Make(DiagnosticIds.UnbindableMember,
        "Configuration member cannot be bound",
        "Member '{0}' of configuration type '{1}' has type {2}, which the generated binder cannot bind: {3}",
        Configuration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MissingRequiredKey = Make(DiagnosticIds.MissingRequiredKey,
        "Required configuration key is missing",
        "Required configuration key '{0}' is missing from {1}",
        Configuration, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor UnknownConfigKey = Make(DiagnosticIds.UnknownConfigKey,
        "Configuration key matches no member",
        "Key '{0}' in {1} matches no member of '{2}'{3}",
        Configuration, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor TaskTypeNotSerializable = Make(DiagnosticIds.TaskTypeNotSerializable,
        "Task type cannot be serialized for a durable queue",
        "Queue '{0}' uses durable backend '{1}', but its task type {2} cannot be serialized by generated code: {3}; declare a JsonSerializerContext with [JsonSerializable(typeof({2}))]",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MutableHandlerState = Make(DiagnosticIds.MutableHandlerState,
        "Handler has mutable instance state",
        "Handler '{0}' has mutable instance field '{1}' and queue '{2}' runs {3} workers concurrently",
        Composition, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor MultipleModules = Make(DiagnosticIds.MultipleModules,
        "More than one module in an assembly",
        "Module '{0}' is a second [ApplicationModule] in this assembly, which already declares '{1}'; declare one module per assembly",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MissingInterface = Make(DiagnosticIds.MissingInterface,
        "Attributed type does not implement the required interface",
        "'{0}' has [{1}] but does not implement {2}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidModuleClass = Make(DiagnosticIds.InvalidModuleClass,
        "Module must be a top-level static class",
        "Module class '{0}' must be a top-level, non-generic static class (it hosts the generated extension method)",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor NoModule = Make(DiagnosticIds.NoModule,
        "No module declared",
        "'{0}' has [{1}] but this assembly declares no [ApplicationModule], so nothing registers it",
        Composition, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DeclarationOutsideModule = Make(DiagnosticIds.DeclarationOutsideModule,
        "Module declaration on a class that is not a module",
        "[{0}] on '{1}' is ignored: it belongs on the [ApplicationModule] class",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DuplicatePool = Make(DiagnosticIds.DuplicatePool,
        "Two worker pools for one queue",
        "Queue '{0}' has more than one [WorkerPool]",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DuplicateSource = Make(DiagnosticIds.DuplicateSource,
        "Two sources share a name",
        "Source name '{0}' of '{1}' is already used by '{2}'",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidSettingsFile = Make(DiagnosticIds.InvalidSettingsFile,
        "Settings file cannot be read",
        "{0} is not valid JSON ({1}), so its keys were not checked",
        Configuration, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DuplicateWebhookPath = Make(DiagnosticIds.DuplicateWebhookPath,
        "Two webhook sources share a path",
        "Webhook source '{0}' listens on '{1}', which webhook source '{2}' already uses (paths are matched ignoring case)",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidWebhookPath = Make(DiagnosticIds.InvalidWebhookPath,
        "Invalid webhook path",
        "Path '{0}' of webhook source '{1}' is invalid: {2}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor WebhookTypeNotSerializable = Make(DiagnosticIds.WebhookTypeNotSerializable,
        "Webhook type cannot be deserialized without reflection",
        "The {0} type {1} of webhook source '{2}' cannot be deserialized without reflection ({3}); declare a JsonSerializerContext with [JsonSerializable(typeof({1}))]",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor MissingWebhookSecret = Make(DiagnosticIds.MissingWebhookSecret,
        "Webhook secret is missing from appsettings",
        "Webhook source '{0}' checks {1} signatures, but {2} has no key AppRuntime:Webhooks:Sources:{0}:Secrets; the runtime refuses to start without a secret",
        Configuration, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor InvalidWebhookSettings = Make(DiagnosticIds.InvalidWebhookSettings,
        "Webhook signature settings do not fit together",
        "Webhook source '{0}': {1}",
        Declaration, DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor InvalidCron = Make(DiagnosticIds.InvalidCron,
        "Invalid cron expression",
        "Cron expression '{0}' of scheduled source '{1}' is invalid: {2}",
        Scheduling, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnknownTimeZone = Make(DiagnosticIds.UnknownTimeZone,
        "Unknown time zone",
        "Time zone '{0}' of scheduled source '{1}' is not an IANA time-zone id{2}",
        Scheduling, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor CronNeverFires = Make(DiagnosticIds.CronNeverFires,
        "Schedule never fires",
        "Cron expression '{0}' of scheduled source '{1}' matches no date, so the source never fires",
        Scheduling, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor MissingCron = Make(DiagnosticIds.MissingCron,
        "Scheduled source has no cron expression",
        "Scheduled source '{0}' has no Cron: set it on the attribute, e.g. [ScheduledSource(\"queue\", Cron = \"0 7 * * MON-FRI\")]",
        Scheduling, DiagnosticSeverity.Error);
    public static readonly DiagnosticDescriptor DefaultWorkerPool = Make(DiagnosticIds.DefaultWorkerPool,
        "Queue has no worker pool: a default pool is used",
        "Queue '{0}' has a handler but no [WorkerPool]: it gets a default pool of 1 worker (MaxAttempts 5, RetryDelayMilliseconds 1000); declare [WorkerPool(\"{0}\")] to choose",
        Composition, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor ModuleNeverAdded = Make(DiagnosticIds.ModuleNeverAdded,
        "Module is never added",
        "Module '{0}' is never added: nothing in this application calls {1}(), so none of its queues, pools, sources or handlers run; call builder.AddAppRuntime().{1}()",
        Composition, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor DuplicateService = Make(DiagnosticIds.DuplicateService,
        "Two services registered as one type",
        "{0} is registered by both '{1}' and '{2}'; at run time the one registered last would silently win: keep one, or register the other as another type",
        Composition, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidConfigValue = Make(DiagnosticIds.InvalidConfigValue,
        "Configuration value has the wrong type",
        "'{0}' in {1} is {2}, which is not a valid {3} for {4}",
        Configuration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor ConfigValueOutOfRange = Make(DiagnosticIds.ConfigValueOutOfRange,
        "Configuration value is out of range",
        "'{0}' in {1} is {2}, but {3} {4}",
        Configuration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnknownBackend = Make(DiagnosticIds.UnknownBackend,
        "Unknown queue backend",
        "{0} names queue backend '{1}', which no referenced package declares{2}; known backends: {3} (a backend of your own is known by its public const string BackendName)",
        Configuration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UndeclaredQueueInSettings = Make(DiagnosticIds.UndeclaredQueueInSettings,
        "Configuration names a queue that is not declared",
        "Key '{0}' in {1} names {2} '{3}', which module '{4}' does not declare{5}",
        Configuration, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor ReadOnlyConfigMember = Make(DiagnosticIds.ReadOnlyConfigMember,
        "Configuration key names a member without a setter",
        "Key '{0}' in {1} names '{2}' of '{3}', which has no setter, so the binder never sets it; add 'set' or 'init' to '{2}'",
        Configuration, DiagnosticSeverity.Warning);

    public static DiagnosticDescriptor Get(string id) => ById[id];

    /// <summary>
    /// Builds the diagnostic. A location inside one of <paramref name="trees"/> becomes a source location of that tree,
    /// so #pragma warning disable applies; other files (appsettings*.json) keep a file location.
    /// </summary>
    public static Diagnostic ToDiagnostic(this DiagnosticInfo info, IReadOnlyDictionary<string, SyntaxTree>? trees = null)
    {
        var args = new object[info.Arguments.Count];
        for (var i = 0; i < args.Length; i++)
            args[i] = info.Arguments[i];
        var location = Location.None;
        if (info.Location is { } stored)
        {
            location = trees is not null && trees.TryGetValue(stored.FilePath, out var tree) && stored.Span.End <= tree.Length
                ? Location.Create(tree, stored.Span)
                : stored.ToLocation();
        }
        return Diagnostic.Create(Get(info.Id), location, args);
    }

    private static DiagnosticDescriptor Make(string id, string title, string message, string category, DiagnosticSeverity severity)
    {
        var descriptor = new DiagnosticDescriptor(id, title, message, category, severity, isEnabledByDefault: true,
            helpLinkUri: HelpRoot + id + ".md");
        ById[id] = descriptor;
        return descriptor;
    }
}
