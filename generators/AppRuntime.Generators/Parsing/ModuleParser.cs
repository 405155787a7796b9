using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Diagnostics;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Parsing;

/// <summary>Turns an [ApplicationModule] class and its [TaskQueue], [WorkerPool] and [ImportService] attributes into a model.</summary>
internal static class ModuleParser
{
    public static ModuleModel? Parse(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.Attributes.IsEmpty)
            return null;
        var attribute = context.Attributes[0];
        var location = type.LocationOf(ct);
        var diagnostics = new List<DiagnosticInfo>();
        var name = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string ?? "" : "";
        var nameLocation = attribute.ArgumentLocation(null, 0, ct);
        if (!SymbolHelpers.IsValidName(name))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, nameLocation, "Module name", name, SymbolHelpers.NameRule));
        if (!type.IsStatic || type.ContainingType is not null || type.IsGenericType)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidModuleClass, location, type.Display()));
        if (!type.IsPartial(ct))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MustBePartial, location, type.Display(), "the Add" + type.Name + " extension method"));
        if (!type.IsAccessibleFromAssembly())
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.Inaccessible, location, type.Display(), "a module class must be public or internal"));

        var queues = new List<QueueModel>();
        var pools = new List<PoolModel>();
        var imports = new List<ImportModel>();
        foreach (var data in type.GetAttributes())
        {
            ct.ThrowIfCancellationRequested();
            var attributeClass = data.AttributeClass;
            if (attributeClass is null)
                continue;
            if (attributeClass.Is(KnownNames.TaskQueueAttribute))
                queues.Add(ParseQueue(data, attributeClass.TypeArguments[0], ct));
            else if (attributeClass.Is(KnownNames.WorkerPoolAttribute))
                pools.Add(ParsePool(data, ct));
            else if (attributeClass.Is(KnownNames.ImportServiceAttribute) && data.ConstructorArguments.Length > 0 &&
                data.ConstructorArguments[0].Value is ITypeSymbol imported)
                imports.Add(new ImportModel(imported.ToRef(), data.LocationOf(ct)));
        }

        return new ModuleModel(name, type.ToRef(),
            type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null,
            type.Name, location, nameLocation, queues.ToEquatableArray(), pools.ToEquatableArray(),
            imports.ToEquatableArray(), diagnostics.ToEquatableArray());
    }

    private static QueueModel ParseQueue(AttributeData data, ITypeSymbol taskType, CancellationToken ct)
    {
        var name = data.ConstructorArguments.Length > 0 ? data.ConstructorArguments[0].Value as string ?? "" : "";
        return new QueueModel(
            name,
            taskType.ToRef(),
            data.Named("Capacity", 10_000),
            data.Named("VisibilityTimeoutSeconds", 30),
            data.Named<string>("Backend", null),
            data.LocationOf(ct),
            data.ArgumentLocation(null, 0, ct),
            data.ArgumentLocation("Capacity", -1, ct),
            data.ArgumentLocation("VisibilityTimeoutSeconds", -1, ct),
            SerializerParser.Parse(taskType));
    }

    private static PoolModel ParsePool(AttributeData data, CancellationToken ct)
    {
        var queue = data.ConstructorArguments.Length > 0 ? data.ConstructorArguments[0].Value as string ?? "" : "";
        return new PoolModel(
            queue,
            data.Named("Workers", 1),
            data.Named("MaxAttempts", 5),
            data.Named("RetryDelayMilliseconds", 1000),
            data.Named<string>("WorkersConfigKey", null),
            data.LocationOf(ct),
            data.ArgumentLocation(null, 0, ct),
            data.ArgumentLocation("Workers", -1, ct),
            data.ArgumentLocation("MaxAttempts", -1, ct),
            data.ArgumentLocation("RetryDelayMilliseconds", -1, ct));
    }

    /// <summary>[TaskQueue], [WorkerPool] or [ImportService] on a class that is not a module.</summary>
    public static DiagnosticInfo? ParseStray(GeneratorAttributeSyntaxContext context, string attributeName, CancellationToken ct)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || type.HasAttribute(KnownNames.ApplicationModuleAttribute))
            return null;
        var location = context.Attributes.IsEmpty ? type.LocationOf(ct) : context.Attributes[0].LocationOf(ct);
        return DiagnosticInfo.Create(DiagnosticIds.DeclarationOutsideModule, location, attributeName, type.Display());
    }
}
