namespace AppRuntime.Generators.Diagnostics;

/// <summary>The IDs of every diagnostic the generator reports. Each has a page docs/diagnostics/&lt;ID&gt;.md.</summary>
public static class DiagnosticIds
{
    /// <summary>A handler, source or worker pool names a queue that is not declared.</summary>
    public const string UndeclaredQueue = "APPRT0001";

    /// <summary>The task type of a handler or source differs from its queue's task type.</summary>
    public const string TaskTypeMismatch = "APPRT0002";

    /// <summary>A queue has no handler.</summary>
    public const string QueueWithoutHandler = "APPRT0003";

    /// <summary>A queue has no producer (no source and no ITaskPublisher&lt;T&gt; dependency).</summary>
    public const string QueueWithoutProducer = "APPRT0004";

    /// <summary>Two queues share a name.</summary>
    public const string DuplicateQueue = "APPRT0005";

    /// <summary>Two handlers for one queue.</summary>
    public const string DuplicateHandler = "APPRT0006";

    /// <summary>A constructor dependency that nothing provides.</summary>
    public const string UnresolvedDependency = "APPRT0007";

    /// <summary>A dependency cycle between services.</summary>
    public const string DependencyCycle = "APPRT0008";

    /// <summary>A singleton depends on a scoped (per-task) service.</summary>
    public const string LifetimeMismatch = "APPRT0009";

    /// <summary>A type the generator extends is not partial.</summary>
    public const string MustBePartial = "APPRT0010";

    /// <summary>An attributed type is abstract or static.</summary>
    public const string MustNotBeAbstract = "APPRT0011";

    /// <summary>An attributed type is generic.</summary>
    public const string MustNotBeGeneric = "APPRT0012";

    /// <summary>An attributed type or its constructor is not accessible to generated code.</summary>
    public const string Inaccessible = "APPRT0013";

    /// <summary>An attributed type has no single constructor to use.</summary>
    public const string AmbiguousConstructors = "APPRT0014";

    /// <summary>A constant setting is out of range (Workers, Capacity, MaxAttempts, ...).</summary>
    public const string InvalidSetting = "APPRT0015";

    /// <summary>An empty or invalid name (module, queue, source, section path).</summary>
    public const string InvalidName = "APPRT0016";

    /// <summary>A [ConfigSection] member whose type the generated binder cannot bind.</summary>
    public const string UnbindableMember = "APPRT0017";

    /// <summary>A required configuration key is missing from every appsettings*.json.</summary>
    public const string MissingRequiredKey = "APPRT0018";

    /// <summary>A key in a declared section matches no member.</summary>
    public const string UnknownConfigKey = "APPRT0019";

    /// <summary>A durable queue's task type cannot be serialized by the generated serializer.</summary>
    public const string TaskTypeNotSerializable = "APPRT0020";

    /// <summary>A handler with mutable instance fields on a pool with several workers.</summary>
    public const string MutableHandlerState = "APPRT0021";

    /// <summary>More than one [ApplicationModule] in one assembly.</summary>
    public const string MultipleModules = "APPRT0022";

    /// <summary>An attributed type does not implement the interface its attribute requires.</summary>
    public const string MissingInterface = "APPRT0023";

    /// <summary>A module class is not a top-level, non-generic static class.</summary>
    public const string InvalidModuleClass = "APPRT0024";

    /// <summary>Components are declared but the assembly has no [ApplicationModule].</summary>
    public const string NoModule = "APPRT0025";

    /// <summary>[TaskQueue], [WorkerPool] or [ImportService] on a class without [ApplicationModule].</summary>
    public const string DeclarationOutsideModule = "APPRT0026";

    /// <summary>Two worker pools for one queue.</summary>
    public const string DuplicatePool = "APPRT0027";

    /// <summary>Two sources with one name.</summary>
    public const string DuplicateSource = "APPRT0028";

    /// <summary>An appsettings*.json file could not be read.</summary>
    public const string InvalidSettingsFile = "APPRT0029";

    /// <summary>Two webhook sources listen on one path.</summary>
    public const string DuplicateWebhookPath = "APPRT0040";

    /// <summary>A webhook source's path is not a valid path.</summary>
    public const string InvalidWebhookPath = "APPRT0041";

    /// <summary>A webhook source's request or task type cannot be deserialized without reflection.</summary>
    public const string WebhookTypeNotSerializable = "APPRT0042";

    /// <summary>A webhook source checks signatures, but its secret key is in no appsettings*.json.</summary>
    public const string MissingWebhookSecret = "APPRT0043";

    /// <summary>A webhook source's signature or event id settings do not fit together.</summary>
    public const string InvalidWebhookSettings = "APPRT0044";
    /// <summary>A [ScheduledSource] cron expression that Cronos rejects.</summary>
    public const string InvalidCron = "APPRT0050";

    /// <summary>A [ScheduledSource] time zone that is not an IANA time-zone id.</summary>
    public const string UnknownTimeZone = "APPRT0051";

    /// <summary>A [ScheduledSource] cron expression that matches no date (the source never fires).</summary>
    public const string CronNeverFires = "APPRT0052";

    /// <summary>A [ScheduledSource] without a Cron.</summary>
    public const string MissingCron = "APPRT0053";
    /// <summary>A queue with a handler and no [WorkerPool] gets a default pool of one worker.</summary>
    public const string DefaultWorkerPool = "APPRT0030";

    /// <summary>An application never calls its module's generated Add method.</summary>
    public const string ModuleNeverAdded = "APPRT0031";

    /// <summary>Two [Service] classes are registered as the same service type.</summary>
    public const string DuplicateService = "APPRT0032";

    /// <summary>A value in appsettings*.json cannot be bound to its member's type.</summary>
    public const string InvalidConfigValue = "APPRT0033";

    /// <summary>A value in appsettings*.json breaks its member's [Range], [TimeRange] or length rule, or a worker count's range.</summary>
    public const string ConfigValueOutOfRange = "APPRT0034";

    /// <summary>A queue backend name that no referenced backend declares.</summary>
    public const string UnknownBackend = "APPRT0035";

    /// <summary>A key under AppRuntime:Queues or AppRuntime:Pools names a queue or pool the module does not declare.</summary>
    public const string UndeclaredQueueInSettings = "APPRT0036";

    /// <summary>A key in appsettings*.json names a configuration member that has no setter.</summary>
    public const string ReadOnlyConfigMember = "APPRT0037";
}
