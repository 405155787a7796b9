using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Diagnostics;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Parsing;

/// <summary>Turns a class with [TaskSource], [TaskHandler], [Service] or [HealthContributor] into a <see cref="ComponentModel"/>.</summary>
internal static class ComponentParser
{
    public static ComponentModel? Parse(GeneratorAttributeSyntaxContext context, ComponentKind kind, CancellationToken ct) =>
        Parse(context, kind, scheduled: false, ct);

    /// <summary>A [ScheduledSource]: a source whose class implements IScheduledSource&lt;T&gt;, with its schedule checked.</summary>
    public static ComponentModel? ParseScheduled(GeneratorAttributeSyntaxContext context, CancellationToken ct) =>
        Parse(context, ComponentKind.Source, scheduled: true, ct);

    private static ComponentModel? Parse(GeneratorAttributeSyntaxContext context, ComponentKind kind, bool scheduled, CancellationToken ct)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.Attributes.IsEmpty)
            return null;
        var attribute = context.Attributes[0];
        var attributeName = scheduled ? ScheduledAttributeName : AttributeName(kind);
        var location = type.LocationOf(ct);
        var diagnostics = new List<DiagnosticInfo>();

        TypeChecks(type, attributeName, location, diagnostics);
        var dependencies = Constructor(type, location, diagnostics);

        string? queue = null;
        LocationInfo? queueLocation = null;
        string? sourceName = null;
        LocationInfo? sourceNameLocation = null;
        var exclusive = false;
        var lifetime = LifetimeModel.Singleton;
        TypeRef? asType = null;
        var taskTypes = new List<TypeRef>();
        var observerTypes = new List<string>();
        ScheduleModel? schedule = null;

        switch (kind)
        {
            case ComponentKind.Handler:
            case ComponentKind.Source:
            {
                queue = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string : null;
                queueLocation = attribute.ArgumentLocation(null, 0, ct);
                if (!SymbolHelpers.IsValidName(queue))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, queueLocation, "Queue name", queue ?? "", SymbolHelpers.NameRule));
                var contract = kind == ComponentKind.Handler ? KnownNames.TaskHandlerInterface
                    : scheduled ? KnownNames.ScheduledSourceInterface : KnownNames.TaskSourceInterface;
                foreach (var implemented in type.ImplementationsOf(contract).OrderBy(i => i.Fq(), System.StringComparer.Ordinal))
                    taskTypes.Add(implemented.TypeArguments[0].ToRef());
                if (taskTypes.Count == 0)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MissingInterface, location, type.Display(), attributeName,
                        kind == ComponentKind.Handler ? "AppRuntime.ITaskHandler<T>" : scheduled ? "AppRuntime.IScheduledSource<T>" : "AppRuntime.ITaskSource<T>"));
                }
                if (kind == ComponentKind.Source)
                {
                    foreach (var observer in type.ImplementationsOf(KnownNames.OutcomeObserverInterface))
                        observerTypes.Add(observer.TypeArguments[0].Fq());
                    observerTypes.Sort(System.StringComparer.Ordinal);
                    sourceName = attribute.Named<string>("Name", null) ?? SymbolHelpers.Kebab(type.Name);
                    sourceNameLocation = attribute.ArgumentLocation("Name", -1, ct);
                    if (!SymbolHelpers.IsValidName(sourceName))
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, sourceNameLocation, "Source name", sourceName, SymbolHelpers.NameRule));
                    if (scheduled)
                        schedule = ParseSchedule(attribute, sourceName, diagnostics, ct);
                    exclusive = attribute.Named<bool>("Exclusive", false);
                }
                break;
            }
            case ComponentKind.Service:
            {
                if (attribute.ConstructorArguments.Length > 0 && attribute.ConstructorArguments[0].Value is int value)
                    lifetime = (LifetimeModel)value;
                if (attribute.Named<ITypeSymbol>("As", null) is { } serviceType)
                {
                    asType = serviceType.ToRef();
                    if (!Implements(type, serviceType))
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MissingInterface, attribute.ArgumentLocation("As", -1, ct),
                            type.Display(), "Service(As = typeof(" + serviceType.Display() + "))", serviceType.Display()));
                }
                break;
            }
            case ComponentKind.HealthContributor:
            {
                if (!type.AllInterfaces.Any(i => i.Is(KnownNames.HealthContributorInterface)))
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MissingInterface, location, type.Display(), attributeName, "AppRuntime.IHealthContributor"));
                break;
            }
        }

        var mutableFields = kind == ComponentKind.Handler ? MutableFields(type, ct) : new List<MutableFieldModel>();

        return new ComponentModel(kind, type.ToRef(), location, queue, queueLocation, sourceName, sourceNameLocation, lifetime, asType,
            taskTypes.ToEquatableArray(), observerTypes.ToEquatableArray(), dependencies.ToEquatableArray(),
            mutableFields.ToEquatableArray(), diagnostics.ToEquatableArray(), Schedule: schedule, Exclusive: exclusive);
    }

    public const string ScheduledAttributeName = "ScheduledSource";

    /// <summary>The attribute that declared the component, for messages.</summary>
    public static string AttributeName(ComponentModel component) =>
        component.Schedule is null ? AttributeName(component.Kind) : ScheduledAttributeName;

    /// <summary>
    /// Reads Cron, TimeZone, Missed and Overlap and checks them as the runtime will: the expression with Cronos (APPRT0050, or
    /// APPRT0052 when it matches no date), the time zone against the IANA ids (APPRT0051), a missing Cron (APPRT0053).
    /// </summary>
    private static ScheduleModel? ParseSchedule(AttributeData attribute, string sourceName, List<DiagnosticInfo> diagnostics, CancellationToken ct)
    {
        var cron = attribute.Named<string>("Cron", null);
        var timeZone = attribute.Named<string>("TimeZone", null) ?? "UTC";
        var cronLocation = attribute.ArgumentLocation("Cron", -1, ct);
        var zoneLocation = attribute.ArgumentLocation("TimeZone", -1, ct);
        var missed = attribute.Named<int>("Missed", 0);
        var overlap = attribute.Named<int>("Overlap", 0);
        if (cron is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MissingCron, attribute.LocationOf(ct), sourceName));
        }
        else if (Scheduling.ScheduleChecks.CheckExpression(cron, sourceName, out var neverFires) is { } error)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidCron, cronLocation, cron, sourceName, error));
        }
        else if (neverFires)
        {
            // A warning: the declaration is usable (configuration may override the expression), so it is not a reason to skip it.
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.CronNeverFires, cronLocation, cron, sourceName));
        }
        if (Scheduling.ScheduleChecks.CheckTimeZone(timeZone) is { } hint)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.UnknownTimeZone, zoneLocation, timeZone, sourceName, hint));
        }
        // Kept when invalid too (the errors keep the component from being emitted), so messages name [ScheduledSource].
        return new ScheduleModel(cron?.Trim() ?? "", timeZone, missed, overlap, cronLocation, zoneLocation);
    }

    public static string AttributeName(ComponentKind kind) => kind switch
    {
        ComponentKind.Source => "TaskSource",
        ComponentKind.Handler => "TaskHandler",
        ComponentKind.Service => "Service",
        _ => "HealthContributor",
    };

    /// <summary>Abstract, static, generic and inaccessible types cannot be created by generated code.</summary>
    public static void TypeChecks(INamedTypeSymbol type, string attributeName, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        if (type.IsAbstract || type.IsStatic)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MustNotBeAbstract, location, type.Display(), attributeName));
        var generic = false;
        for (var t = type; t is not null; t = t.ContainingType)
            generic |= t.IsGenericType;
        if (generic)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MustNotBeGeneric, location, type.Display(), attributeName));
        if (!type.IsAccessibleFromAssembly())
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.Inaccessible, location, type.Display(), "the type or a type containing it is private or protected"));
    }

    /// <summary>Picks the constructor generated code calls: the accessible one with the most parameters, which must be unique.</summary>
    public static List<DependencyModel> Constructor(INamedTypeSymbol type, LocationInfo? location, List<DiagnosticInfo> diagnostics)
    {
        var result = new List<DependencyModel>();
        if (type.IsAbstract || type.IsStatic)
            return result;
        var candidates = type.InstanceConstructors
            .Where(c => c.DeclaredAccessibility is Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal)
            .ToList();
        if (candidates.Count == 0)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.Inaccessible, location, type.Display(), "it has no public or internal constructor"));
            return result;
        }
        var max = candidates.Max(c => c.Parameters.Length);
        var longest = candidates.Where(c => c.Parameters.Length == max).ToList();
        if (longest.Count > 1)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.AmbiguousConstructors, location, type.Display(),
                "has " + longest.Count + " constructors with " + max + " parameters; keep one so the generator knows which to call"));
            return result;
        }
        foreach (var parameter in longest[0].Parameters)
        {
            var parameterType = parameter.Type;
            string? openKey = null;
            var typeArguments = new List<string>();
            if (parameterType is INamedTypeSymbol { IsGenericType: true } generic)
            {
                openKey = generic.OriginalDefinition.MetadataKey();
                typeArguments.AddRange(generic.TypeArguments.Select(a => a.Fq()));
            }
            // Optional: a nullable reference (resolved with GetService, null when absent). Value types with a default are
            // still resolved as required: GetService<int> would yield 0, not the declared default.
            var optional = parameterType.IsReferenceType &&
                (parameter.NullableAnnotation == NullableAnnotation.Annotated || parameter.HasExplicitDefaultValue);
            result.Add(new DependencyModel(parameter.Name, parameterType.ToRef(), openKey, typeArguments.ToEquatableArray(), optional,
                LocationInfo.From(parameter.Locations.FirstOrDefault())));
        }
        return result;
    }

    private static bool Implements(INamedTypeSymbol type, ITypeSymbol serviceType)
    {
        if (SymbolEqualityComparer.Default.Equals(type, serviceType))
            return true;
        if (type.AllInterfaces.Any(i => SymbolEqualityComparer.Default.Equals(i, serviceType)))
            return true;
        for (var b = type.BaseType; b is not null; b = b.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(b, serviceType))
                return true;
        }
        return false;
    }

    private static List<MutableFieldModel> MutableFields(INamedTypeSymbol type, CancellationToken ct)
    {
        var fields = new List<MutableFieldModel>();
        foreach (var member in type.GetMembers())
        {
            switch (member)
            {
                case IFieldSymbol { IsStatic: false, IsConst: false, IsReadOnly: false, IsImplicitlyDeclared: false } field:
                    fields.Add(new MutableFieldModel(field.Name, field.LocationOf(ct)));
                    break;
                case IPropertySymbol { IsStatic: false, SetMethod: { IsInitOnly: false } } property when IsAutoProperty(property, ct):
                    fields.Add(new MutableFieldModel(property.Name, property.LocationOf(ct)));
                    break;
            }
        }
        return fields;
    }

    private static bool IsAutoProperty(IPropertySymbol property, CancellationToken ct)
    {
        foreach (var reference in property.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(ct) is Microsoft.CodeAnalysis.CSharp.Syntax.PropertyDeclarationSyntax { AccessorList: { } accessors })
                return accessors.Accessors.All(a => a.Body is null && a.ExpressionBody is null);
        }
        return false;
    }
}
