namespace AppRuntime.Generators.Model;

/// <summary>Everything the generator collected from one compilation, as values.</summary>
internal sealed record CompositionInput(
    EquatableArray<ModuleModel> Modules,
    EquatableArray<ComponentModel> Components,
    EquatableArray<ConfigSectionModel> Sections,
    EquatableArray<DiagnosticInfo> StrayDeclarations,
    EquatableArray<AppSettingsModel> Settings,
    EquatableArray<JsonContextModel> JsonContexts,
    CompilationFacts Facts);

/// <summary>
/// What the generator needs to know of the compilation as a whole: whether it is an application (an executable), the names of the
/// methods it calls whose name starts with Add (to find the module's Add method), and the queue backend names its references
/// declare (<c>BackendName</c> constants of ITaskQueueBackend classes); <see cref="BackendsKnown"/> is false when a backend's name
/// cannot be known at build time, and backend names are then not checked. <see cref="DirectRegistration"/>: the compilation sees
/// AppRuntime.Core's <c>AppRuntimeRegistration</c>, so generated code registers through its static methods (no generic virtual
/// calls, which native AOT resolves at run time) instead of the <c>IAppRuntimeBuilder</c> interface.
/// </summary>
internal sealed record CompilationFacts(bool IsExecutable, EquatableArray<string> AddCalls, EquatableArray<string> Backends, bool BackendsKnown,
    bool DirectRegistration = false)
{
    public static readonly CompilationFacts None = new(false, EquatableArray<string>.Empty, EquatableArray<string>.Empty, false);
}

/// <summary>
/// A module that cannot be emitted (its declaration is invalid, or it is a second module): its <c>Add</c> method is still emitted,
/// in a class of its own, so calls to it do not add compiler errors to the generator's.
/// </summary>
internal sealed record ModuleStubModel(string? Namespace, string ClassName, string MethodName, string ModuleName)
{
    public string HintName => (Namespace is null ? "" : Namespace + ".") + ClassName + ".Stub.g.cs";
}

/// <summary>What one module's generated file contains.</summary>
internal sealed record ModuleEmitModel(
    ModuleModel Module,
    EquatableArray<ComponentModel> Services,
    EquatableArray<ComponentModel> Sources,
    EquatableArray<ComponentModel> Handlers,
    EquatableArray<ComponentModel> HealthContributors,
    EquatableArray<TypeRef> ConfigSections,
    bool DirectRegistration = false)
{
    public string HintName => Module.Type.Display + ".g.cs";
}

/// <summary>The validated composition: diagnostics, and what to emit.</summary>
internal sealed record CompositionResult(
    EquatableArray<DiagnosticInfo> Diagnostics,
    EquatableArray<ModuleEmitModel> Modules,
    EquatableArray<ConfigTypeModel> ConfigTypes,
    EquatableArray<ModuleStubModel> Stubs);
