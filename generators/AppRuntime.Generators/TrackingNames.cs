namespace AppRuntime.Generators;

/// <summary>The names of every pipeline step, so tests can assert which steps re-ran.</summary>
public static class TrackingNames
{
    /// <summary>[ApplicationModule] classes.</summary>
    public const string Modules = nameof(Modules);

    /// <summary>[TaskQueue] on classes that are not modules.</summary>
    public const string StrayQueues = nameof(StrayQueues);

    /// <summary>[WorkerPool] on classes that are not modules.</summary>
    public const string StrayPools = nameof(StrayPools);

    /// <summary>[ImportService] on classes that are not modules.</summary>
    public const string StrayImports = nameof(StrayImports);

    /// <summary>[TaskSource] classes.</summary>
    public const string Sources = nameof(Sources);

    /// <summary>[WebhookSource] classes (AppRuntime.Webhooks).</summary>
    public const string WebhookSources = nameof(WebhookSources);
    /// <summary>[ScheduledSource] classes.</summary>
    public const string ScheduledSources = nameof(ScheduledSources);

    /// <summary>[TaskHandler] classes.</summary>
    public const string Handlers = nameof(Handlers);

    /// <summary>[Service] classes.</summary>
    public const string Services = nameof(Services);

    /// <summary>[HealthContributor] classes.</summary>
    public const string HealthContributors = nameof(HealthContributors);

    /// <summary>[ConfigSection] classes.</summary>
    public const string ConfigSections = nameof(ConfigSections);

    /// <summary>appsettings*.json AdditionalFiles.</summary>
    public const string AppSettings = nameof(AppSettings);

    /// <summary>JsonSerializerContext classes with [JsonSerializable].</summary>
    public const string JsonContexts = nameof(JsonContexts);

    /// <summary>The names of the Add... methods the compilation calls.</summary>
    public const string AddCalls = nameof(AddCalls);

    /// <summary>What the compilation is (an executable?) and the queue backends its references declare.</summary>
    public const string CompilationFacts = nameof(CompilationFacts);

    /// <summary>Add methods of modules that cannot be emitted.</summary>
    public const string StubOutputs = nameof(StubOutputs);

    /// <summary>All inputs combined.</summary>
    public const string CompositionInput = nameof(CompositionInput);

    /// <summary>The validated composition.</summary>
    public const string Composition = nameof(Composition);

    /// <summary>The diagnostics of the composition.</summary>
    public const string Diagnostics = nameof(Diagnostics);

    /// <summary>
    /// The diagnostics joined with the compilation to rebuild source locations. It changes with every edit by design:
    /// it only maps locations and feeds the diagnostic output; no model step depends on it.
    /// </summary>
    public const string DiagnosticsReport = nameof(DiagnosticsReport);

    /// <summary>Module files to emit.</summary>
    public const string ModuleOutputs = nameof(ModuleOutputs);

    /// <summary>Configuration binder files to emit.</summary>
    public const string ConfigOutputs = nameof(ConfigOutputs);

    /// <summary>Every tracked step, for tests.</summary>
    public static readonly string[] All =
    {
        Modules, StrayQueues, StrayPools, StrayImports, Sources, WebhookSources, ScheduledSources, Handlers, Services, HealthContributors, ConfigSections,
        AppSettings, JsonContexts, AddCalls, CompilationFacts, CompositionInput, Composition, Diagnostics, DiagnosticsReport, ModuleOutputs,
        ConfigOutputs,
    };
}
