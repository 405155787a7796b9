using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Diagnostics;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AppRuntime.Generators.Parsing;

/// <summary>Turns a [ConfigSection] class, and every class it nests, into binder models.</summary>
internal static class ConfigSectionParser
{
    public static ConfigSectionModel? Parse(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        if (context.TargetSymbol is not INamedTypeSymbol root || context.Attributes.IsEmpty)
            return null;
        var attribute = context.Attributes[0];
        var path = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string ?? "" : "";
        var location = root.LocationOf(ct);
        var diagnostics = new List<DiagnosticInfo>();
        if (!IsValidPath(path))
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, attribute.ArgumentLocation(null, 0, ct), "Configuration section path", path,
                "use one or more non-empty keys separated by ':'"));
        }

        var types = new List<ConfigTypeModel>();
        var queue = new Queue<INamedTypeSymbol>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { root.Fq() };
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var type = queue.Dequeue();
            var model = ParseType(type, ReferenceEquals(type, root) ? path : null, diagnostics, nested =>
            {
                if (seen.Add(nested.Fq()))
                    queue.Enqueue(nested);
            }, ct);
            if (model is not null)
                types.Add(model);
        }

        return new ConfigSectionModel(path, root.ToRef(), location, types.ToEquatableArray(), diagnostics.ToEquatableArray());
    }

    private static bool IsValidPath(string path) =>
        path.Length > 0 && path.Split(':').All(segment => segment.Trim().Length > 0);

    private static ConfigTypeModel? ParseType(INamedTypeSymbol type, string? sectionPath, List<DiagnosticInfo> diagnostics,
        Action<INamedTypeSymbol> enqueue, CancellationToken ct)
    {
        var location = type.LocationOf(ct);
        var count = diagnostics.Count;
        ComponentParser.TypeChecks(type, "ConfigSection", location, diagnostics);
        if (type.TypeKind != TypeKind.Class)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MustNotBeAbstract, location, type.Display(), "ConfigSection"));
        var containing = new List<string>();
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (!outer.IsPartial(ct))
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MustBePartial, outer.LocationOf(ct), outer.Display(), "the binder of nested configuration type " + type.Name));
            containing.Insert(0, "partial " + Keyword(outer) + " " + outer.Name);
        }
        if (!type.IsPartial(ct))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MustBePartial, location, type.Display(), "a generated configuration binder"));

        var explicitCtors = type.InstanceConstructors.Where(c => !c.IsImplicitlyDeclared && !IsCopyConstructor(c, type)).ToList();
        var hasParameterless = explicitCtors.Any(c => c.Parameters.Length == 0);
        if (explicitCtors.Count > 0 && !hasParameterless)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.AmbiguousConstructors, location, type.Display(),
                "needs a parameterless constructor (or none) so the generated binder can create it"));
        }

        var members = new List<ConfigMemberModel>();
        var readOnly = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var t = type; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
        {
            foreach (var property in t.GetMembers().OfType<IPropertySymbol>())
            {
                if (property.IsStatic || property.IsIndexer || property.DeclaredAccessibility != Accessibility.Public)
                    continue;
                if (property.SetMethod is null || property.SetMethod.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected)
                {
                    // Not bound; a key in appsettings*.json that names it gets its own diagnostic (it has no setter).
                    if (!names.Contains(property.Name))
                        readOnly.Add(property.Name);
                    continue;
                }
                if (!names.Add(property.Name))
                    continue;
                var member = ParseMember(type, property, diagnostics, enqueue, ct);
                if (member is not null)
                    members.Add(member);
            }
        }

        if (diagnostics.Count > count)
            return null;
        return new ConfigTypeModel(type.ToRef(),
            type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null,
            type.Name, Keyword(type), containing.ToEquatableArray(), hasParameterless, explicitCtors.Count > 0, sectionPath,
            members.ToEquatableArray(), readOnly.Where(n => !names.Contains(n)).Distinct(StringComparer.Ordinal).ToEquatableArray());
    }

    private static ConfigMemberModel? ParseMember(INamedTypeSymbol owner, IPropertySymbol property, List<DiagnosticInfo> diagnostics,
        Action<INamedTypeSymbol> enqueue, CancellationToken ct)
    {
        var location = property.LocationOf(ct);
        string? OnObject(INamedTypeSymbol nested)
        {
            if (nested.TypeKind != TypeKind.Class)
                return "nested configuration types must be classes";
            if (nested.DeclaringSyntaxReferences.IsEmpty)
                return "nested configuration types must be declared in this project (as partial classes)";
            enqueue(nested);
            return null;
        }

        var shape = ShapeResolver.Resolve(property.Type, OnObject, out var reason);
        if (shape is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.UnbindableMember, location, property.Name, owner.Display(), property.Type.Display(), reason ?? "unsupported type"));
            return null;
        }

        var rules = new List<ValidationRuleModel>();
        var required = property.IsRequired;
        var secret = false;
        foreach (var attribute in property.GetAttributes())
        {
            var cls = attribute.AttributeClass;
            if (cls is null)
                continue;
            var key = cls.MetadataKey();
            if (key == KnownNames.SecretAttribute)
            {
                secret = true;
                continue;
            }
            if (key == KnownNames.TimeRangeAttribute)
            {
                // [TimeRange("00:00:01", "01:00:00")]: the trimming-safe range of a TimeSpan (DataAnnotations' Range(Type, ...) is not).
                var range = attribute.ConstructorArguments;
                if (range.Length == 2 && range[0].Value is string low && range[1].Value is string high &&
                    TimeSpan.TryParse(low, CultureInfo.InvariantCulture, out _) && TimeSpan.TryParse(high, CultureInfo.InvariantCulture, out _))
                    rules.Add(new ValidationRuleModel("RangeTimeSpan", low, high));
                continue;
            }
            if (!key.StartsWith(KnownNames.DataAnnotations, StringComparison.Ordinal))
                continue;
            var args = attribute.ConstructorArguments;
            switch (key.Substring(KnownNames.DataAnnotations.Length))
            {
                case "RequiredAttribute":
                    required = true;
                    break;
                case "RangeAttribute" when args.Length == 2 && args[0].Value is not null && args[0].Kind == TypedConstantKind.Primitive && args[0].Value is not string:
                    rules.Add(new ValidationRuleModel("Range", DoubleLiteral(args[0].Value!), DoubleLiteral(args[1].Value!)));
                    break;
                case "RegularExpressionAttribute" when args.Length == 1 && args[0].Value is string pattern:
                    // The whole value must match, as RegularExpressionAttribute requires.
                    rules.Add(new ValidationRuleModel("Regex", SymbolDisplay.FormatLiteral("^(?:" + pattern + ")$", true), pattern));
                    break;
                case "UrlAttribute":
                    rules.Add(new ValidationRuleModel("Url", null, null));
                    break;
                case "EmailAddressAttribute":
                    rules.Add(new ValidationRuleModel("Email", null, null));
                    break;
                case "MinLengthAttribute" when args.Length == 1 && args[0].Value is int min:
                    rules.Add(new ValidationRuleModel("MinLength", min.ToString(CultureInfo.InvariantCulture), null));
                    break;
                case "MaxLengthAttribute" when args.Length == 1 && args[0].Value is int max:
                    rules.Add(new ValidationRuleModel("MaxLength", max.ToString(CultureInfo.InvariantCulture), null));
                    break;
                case "StringLengthAttribute" when args.Length == 1 && args[0].Value is int maxLength:
                    rules.Add(new ValidationRuleModel("MaxLength", maxLength.ToString(CultureInfo.InvariantCulture), null));
                    var minimum = attribute.Named("MinimumLength", 0);
                    if (minimum > 0)
                        rules.Add(new ValidationRuleModel("MinLength", minimum.ToString(CultureInfo.InvariantCulture), null));
                    break;
            }
        }

        var referenceNullable = property.Type.IsReferenceType && property.NullableAnnotation == NullableAnnotation.Annotated;
        var enumType = property.Type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable
            ? nullable.TypeArguments[0]
            : property.Type;
        var enumNames = enumType.TypeKind == TypeKind.Enum
            ? enumType.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).Select(f => f.Name).ToEquatableArray()
            : EquatableArray<string>.Empty;
        return new ConfigMemberModel(property.Name, shape, required, secret, referenceNullable, rules.ToEquatableArray(), location, enumNames);
    }

    private static string DoubleLiteral(object value)
    {
        var d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        return d.ToString("R", CultureInfo.InvariantCulture) + "d";
    }

    private static bool IsCopyConstructor(IMethodSymbol constructor, INamedTypeSymbol type) =>
        type.IsRecord && constructor.Parameters.Length == 1 && SymbolEqualityComparer.Default.Equals(constructor.Parameters[0].Type, type);

    private static string Keyword(INamedTypeSymbol type) => type.IsRecord
        ? (type.IsValueType ? "record struct" : "record")
        : type.TypeKind switch
        {
            TypeKind.Struct => "struct",
            TypeKind.Interface => "interface",
            _ => "class",
        };
}
