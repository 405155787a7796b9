namespace AppRuntime.Generators.Model;

/// <summary>Everything the generator collected from one compilation, as values.</summary>
internal sealed record CompositionInput(
    EquatableArray<ModuleModel> Modules,
    EquatableArray<ComponentModel> Components,
    EquatableArray<ConfigSectionModel> Sections,
    EquatableArray<DiagnosticInfo> StrayDeclarations,
    EquatableArray<AppSettingsModel> Settings,
    EquatableArray<JsonContextModel> JsonContexts);

/// <summary>What one module's generated file contains.</summary>
internal sealed record ModuleEmitModel(
    ModuleModel Module,
    EquatableArray<ComponentModel> Services,
    EquatableArray<ComponentModel> Sources,
    EquatableArray<ComponentModel> Handlers,
    EquatableArray<ComponentModel> HealthContributors,
    EquatableArray<TypeRef> ConfigSections)
{
    public string HintName => Module.Type.Display + ".g.cs";
}

/// <summary>The validated composition: diagnostics, and what to emit.</summary>
internal sealed record CompositionResult(
    EquatableArray<DiagnosticInfo> Diagnostics,
    EquatableArray<ModuleEmitModel> Modules,
    EquatableArray<ConfigTypeModel> ConfigTypes);
