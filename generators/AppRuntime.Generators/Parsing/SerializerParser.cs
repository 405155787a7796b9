using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AppRuntime.Generators.Parsing;

/// <summary>
/// Decides whether a task type can be written and read by generated Utf8JsonWriter/Utf8JsonReader code with
/// System.Text.Json's default rules (docs/serialization.md), and collects the object and enum types involved. Anything
/// whose System.Text.Json behaviour the generated code does not reproduce is reported as unsupported, with the reason;
/// the app then declares a JsonSerializerContext for the type. (The System.Text.Json generator does not run on another
/// generator's output, so the AppRuntime generator writes the serializer itself.)
/// </summary>
internal static class SerializerParser
{
    private const string Stj = "System.Text.Json.Serialization.";
    private const string JsonPropertyName = Stj + "JsonPropertyNameAttribute";
    private const string JsonIgnore = Stj + "JsonIgnoreAttribute";
    private const string JsonRequired = Stj + "JsonRequiredAttribute";
    private const string JsonInclude = Stj + "JsonIncludeAttribute";
    private const string JsonConstructor = Stj + "JsonConstructorAttribute";
    private const string JsonPropertyOrder = Stj + "JsonPropertyOrderAttribute";
    private const string JsonConverter = Stj + "JsonConverterAttribute";
    private const string JsonStringEnumConverter = Stj + "JsonStringEnumConverter";
    private const string JsonStringEnumConverterOfT = Stj + "JsonStringEnumConverter`1";
    private const string JsonStringEnumMemberName = Stj + "JsonStringEnumMemberNameAttribute";
    private const string SetsRequiredMembers = "System.Diagnostics.CodeAnalysis.SetsRequiredMembersAttribute";

    /// <summary>Attributes whose behaviour the generated serializer does not reproduce, on a type or a property.</summary>
    private static readonly string[] UnsupportedAttributes =
    {
        Stj + "JsonExtensionDataAttribute",
        Stj + "JsonNumberHandlingAttribute",
        Stj + "JsonObjectCreationHandlingAttribute",
        Stj + "JsonUnmappedMemberHandlingAttribute",
        Stj + "JsonPolymorphicAttribute",
        Stj + "JsonDerivedTypeAttribute",
    };

    /// <summary>Where the first problem found is declared (the innermost member or parameter in source), for the diagnostic's location.</summary>
    [ThreadStatic]
    private static LocationInfo? _problemAt;

    /// <summary>Returns <paramref name="reason"/>, noting where <paramref name="symbol"/> is declared if no deeper problem was noted.</summary>
    private static string At(ISymbol symbol, string reason)
    {
        _problemAt ??= symbol.LocationOf(default);
        return reason;
    }

    public static SerializerModel Parse(ITypeSymbol taskType)
    {
        _problemAt = null;
        var objects = new Dictionary<string, JsonObjectModel>(StringComparer.Ordinal);
        var enums = new Dictionary<string, JsonEnumModel>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        string? OnObject(INamedTypeSymbol type) => Describe(type, objects, enums, visiting, OnObject);
        var root = ShapeResolver.Resolve(taskType, OnObject, out var reason);
        reason ??= CollectEnums(taskType, enums);
        if (root is null || reason is not null)
        {
            var at = _problemAt;
            _problemAt = null;
            return new SerializerModel(false, reason, null, EquatableArray<JsonObjectModel>.Empty, EquatableArray<JsonEnumModel>.Empty, null, at);
        }
        return new SerializerModel(true, null, root,
            objects.Values.OrderBy(o => o.TypeFullyQualified, StringComparer.Ordinal).ToEquatableArray(),
            enums.Values.OrderBy(e => e.TypeFullyQualified, StringComparer.Ordinal).ToEquatableArray());
    }

    private static string? Describe(INamedTypeSymbol type, Dictionary<string, JsonObjectModel> objects, Dictionary<string, JsonEnumModel> enums,
        HashSet<string> visiting, Func<INamedTypeSymbol, string?> onObject)
    {
        var key = type.Fq();
        if (objects.ContainsKey(key) || !visiting.Add(key))
            return null;
        if (!type.IsAccessibleFromAssembly())
            return type.Display() + " is not accessible";
        if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct))
            return type.Display() + " is not a class or struct";
        if (IsFrameworkType(type))
            return type.Display() + " has a System.Text.Json converter of its own, which the generated serializer does not reproduce";
        if (type.AllInterfaces.Any(i => i.SpecialType == SpecialType.System_Collections_IEnumerable))
            return type.Display() + " is a collection type other than an array, List<T> or Dictionary<string, T>";
        if (UnsupportedAttribute(type) is { } typeAttribute)
            return type.Display() + " has [" + typeAttribute + "]";
        if (type.HasAttribute(JsonConverter))
            return type.Display() + " has a [JsonConverter]";

        // Public instance properties with a public getter, the most derived type's first (as System.Text.Json orders them).
        var properties = new List<IPropertySymbol>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var t = type; t is not null && t.SpecialType != SpecialType.System_Object && t.SpecialType != SpecialType.System_ValueType; t = t.BaseType)
        {
            foreach (var member in t.GetMembers())
            {
                if (member is IFieldSymbol { IsStatic: false } field)
                {
                    if (field.HasAttribute(JsonInclude))
                        return At(field, "field " + type.Display() + "." + field.Name + " has [JsonInclude]; fields are not supported");
                    if (field.IsRequired)
                        return At(field, "field " + type.Display() + "." + field.Name + " is required; fields are not supported");
                    continue;
                }
                if (member is not IPropertySymbol p || p.IsStatic || p.IsIndexer || !seen.Add(p.Name))
                    continue;
                var isPublic = p.DeclaredAccessibility == Accessibility.Public && p.GetMethod is { DeclaredAccessibility: Accessibility.Public };
                if (!isPublic)
                {
                    if (p.HasAttribute(JsonInclude))
                        return At(p, "property " + type.Display() + "." + p.Name + " has [JsonInclude] but is not public");
                    if (p.IsRequired)
                        return At(p, "property " + type.Display() + "." + p.Name + " is required but has no public getter");
                    continue;
                }
                properties.Add(p);
            }
        }

        var constructor = ChooseConstructor(type, out var constructorProblem);
        if (constructor is null)
            return type.Display() + " " + constructorProblem;
        var setsRequired = constructor.HasAttribute(SetsRequiredMembers);

        var members = new List<(JsonMemberModel Member, int Order, IPropertySymbol Property)>();
        var ignoredNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in properties)
        {
            var where = "property " + type.Display() + "." + p.Name;
            var ignore = JsonIgnoreMode.None;
            if (p.GetAttribute(JsonIgnore) is { } ignoreAttribute)
            {
                var condition = ignoreAttribute.NamedArguments.FirstOrDefault(a => a.Key == "Condition").Value.Value is int c ? c : 1;
                switch (condition)
                {
                    case 0: // Never
                        break;
                    case 1: // Always
                        if (p.IsRequired || p.HasAttribute(JsonRequired))
                            return At(p, where + " is required and has [JsonIgnore]");
                        ignoredNames.Add(p.Name);
                        continue;
                    case 2: // WhenWritingDefault
                        ignore = JsonIgnoreMode.WhenWritingDefault;
                        break;
                    case 3: // WhenWritingNull
                        if (p.Type.IsValueType && p.Type.OriginalDefinition.SpecialType != SpecialType.System_Nullable_T)
                            return At(p, where + " has [JsonIgnore(Condition = WhenWritingNull)] but is a non-nullable value type, which System.Text.Json rejects");
                        ignore = JsonIgnoreMode.WhenWritingNull;
                        break;
                    default:
                        return At(p, where + " has a [JsonIgnore] condition the generated serializer does not support");
                }
            }
            if (UnsupportedAttribute(p) is { } propertyAttribute)
                return At(p, where + " has [" + propertyAttribute + "]");

            var enumAsString = false;
            if (p.GetAttribute(JsonConverter) is { } converter)
            {
                if (!IsStringEnumConverter(converter, EnumOf(p.Type)))
                    return At(p, where + " has a [JsonConverter] other than JsonStringEnumConverter on an enum");
                enumAsString = true;
            }

            var shape = ShapeResolver.Resolve(p.Type, onObject, out var reason);
            if (shape is null)
                return At(p, where + ": " + reason);
            if (CollectEnums(p.Type, enums) is { } enumProblem)
                return At(p, where + ": " + enumProblem);
            if (enumAsString && EnumOf(p.Type) is { } stringEnum && HasCustomNames(stringEnum))
                return At(p, where + ": enum " + stringEnum.Display() + " has [JsonStringEnumMemberName]");

            var ctorIndex = -1;
            for (var i = 0; i < constructor.Parameters.Length; i++)
            {
                if (string.Equals(constructor.Parameters[i].Name, p.Name, StringComparison.OrdinalIgnoreCase))
                    ctorIndex = i;
            }
            var settable = p.SetMethod is { DeclaredAccessibility: Accessibility.Public };
            var initOnly = settable && p.SetMethod!.IsInitOnly;
            if (p.SetMethod is { } setter && setter.DeclaredAccessibility != Accessibility.Public && p.HasAttribute(JsonInclude))
                return At(p, where + " has [JsonInclude] but its setter is not public");
            var required = (p.IsRequired && !setsRequired) || p.HasAttribute(JsonRequired);
            var jsonName = p.GetAttribute(JsonPropertyName)?.ConstructorArguments.FirstOrDefault().Value as string ?? p.Name;
            var order = p.GetAttribute(JsonPropertyOrder)?.ConstructorArguments.FirstOrDefault().Value is int o ? o : 0;
            members.Add((new JsonMemberModel(p.Name, jsonName, shape, ignore, ctorIndex >= 0 || settable, ctorIndex,
                initOnly && ctorIndex < 0, settable && !initOnly && ctorIndex < 0, required, enumAsString), order, p));
        }

        // [JsonPropertyOrder] sorts, stably, as System.Text.Json does.
        var ordered = members.OrderBy(m => m.Order).ToList();
        var duplicate = ordered.GroupBy(m => m.Member.JsonName, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            return type.Display() + " has two properties named '" + duplicate.Key + "' in JSON";

        var parameters = new List<JsonParameterModel>();
        foreach (var parameter in constructor.Parameters)
        {
            var index = ordered.FindIndex(m => string.Equals(m.Member.Name, parameter.Name, StringComparison.OrdinalIgnoreCase));
            if (index >= 0 && !SymbolEqualityComparer.Default.Equals(ordered[index].Property.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated),
                    parameter.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated)))
                return At(parameter, "constructor parameter '" + parameter.Name + "' of " + type.Display() + " has another type than its property");
            if (index < 0 && !ignoredNames.Contains(parameter.Name))
                return At(parameter, "constructor parameter '" + parameter.Name + "' of " + type.Display() + " matches no public property");
            var defaultValue = DefaultValue(parameter);
            if (defaultValue is null)
                return At(parameter, "constructor parameter '" + parameter.Name + "' of " + type.Display() + " has a default value the generated serializer cannot write");
            parameters.Add(new JsonParameterModel(index, defaultValue));
        }

        objects[key] = new JsonObjectModel(key, type.Display(), type.IsValueType, ordered.Select(m => m.Member).ToEquatableArray(), parameters.ToEquatableArray());
        return null;
    }

    /// <summary>
    /// System.Text.Json's choice: the public [JsonConstructor]; for a struct its parameterless constructor; for a class the public
    /// parameterless constructor, else its only public constructor.
    /// </summary>
    private static IMethodSymbol? ChooseConstructor(INamedTypeSymbol type, out string problem)
    {
        problem = "";
        var annotated = type.InstanceConstructors.Where(c => c.HasAttribute(JsonConstructor)).ToList();
        if (annotated.Count > 1)
        {
            problem = "has more than one [JsonConstructor]";
            return null;
        }
        if (annotated.Count == 1)
        {
            if (annotated[0].DeclaredAccessibility != Accessibility.Public)
                problem = "has a [JsonConstructor] that is not public";
            return problem.Length == 0 ? annotated[0] : null;
        }
        if (type.IsAbstract)
        {
            problem = "is abstract";
            return null;
        }
        var publicOnes = type.InstanceConstructors.Where(c => c.DeclaredAccessibility == Accessibility.Public &&
            !(c.Parameters.Length == 1 && SymbolEqualityComparer.Default.Equals(c.Parameters[0].Type, type))).ToList();
        var parameterless = publicOnes.FirstOrDefault(c => c.Parameters.Length == 0);
        if (parameterless is not null)
            return parameterless;
        if (type.IsValueType)
            return type.InstanceConstructors.FirstOrDefault(c => c.Parameters.Length == 0);
        if (publicOnes.Count == 1)
            return publicOnes[0];
        problem = publicOnes.Count == 0
            ? "has no public constructor"
            : "has several public constructors and none is parameterless or has [JsonConstructor]";
        return null;
    }

    /// <summary>Records every enum in <paramref name="type"/> (through nullable, arrays, lists and dictionaries); returns a problem or null.</summary>
    private static string? CollectEnums(ITypeSymbol type, Dictionary<string, JsonEnumModel> enums)
    {
        switch (type)
        {
            case IArrayTypeSymbol array:
                return CollectEnums(array.ElementType, enums);
            case INamedTypeSymbol { TypeKind: TypeKind.Enum } e:
            {
                var key = e.Fq();
                if (enums.ContainsKey(key))
                    return null;
                if (!e.IsAccessibleFromAssembly())
                    return "enum " + e.Display() + " is not accessible";
                var asString = false;
                if (e.GetAttribute(JsonConverter) is { } converter)
                {
                    if (!IsStringEnumConverter(converter, e))
                        return "enum " + e.Display() + " has a [JsonConverter] other than JsonStringEnumConverter";
                    asString = true;
                }
                if (HasCustomNames(e))
                {
                    if (asString)
                        return "enum " + e.Display() + " has [JsonStringEnumMemberName]";
                }
                var names = new List<string>();
                var values = new HashSet<object>();
                foreach (var field in e.GetMembers().OfType<IFieldSymbol>())
                {
                    if (field.HasConstantValue && field.ConstantValue is not null && values.Add(field.ConstantValue))
                        names.Add(field.Name);
                }
                var underlying = e.EnumUnderlyingType!.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat);
                enums[key] = new JsonEnumModel(key, e.Display(), underlying, asString, names.ToEquatableArray());
                return null;
            }
            case INamedTypeSymbol { IsGenericType: true } named:
                foreach (var argument in named.TypeArguments)
                {
                    if (CollectEnums(argument, enums) is { } problem)
                        return problem;
                }
                return null;
            default:
                return null;
        }
    }

    private static INamedTypeSymbol? EnumOf(ITypeSymbol type)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
            type = nullable.TypeArguments[0];
        return type is INamedTypeSymbol { TypeKind: TypeKind.Enum } e ? e : null;
    }

    private static bool HasCustomNames(INamedTypeSymbol e) => e.GetMembers().OfType<IFieldSymbol>().Any(f => f.HasAttribute(JsonStringEnumMemberName));

    private static bool IsStringEnumConverter(AttributeData converter, INamedTypeSymbol? enumType)
    {
        if (enumType is null || converter.ConstructorArguments.Length != 1 || converter.ConstructorArguments[0].Value is not INamedTypeSymbol converterType)
            return false;
        if (converterType.Is(JsonStringEnumConverter) && !converterType.IsGenericType)
            return true;
        return converterType.Is(JsonStringEnumConverterOfT) && SymbolEqualityComparer.Default.Equals(converterType.TypeArguments[0], enumType);
    }

    private static AttributeData? GetAttribute(this ISymbol symbol, string metadataKey) =>
        symbol.GetAttributes().FirstOrDefault(a => a.AttributeClass.Is(metadataKey));

    private static string? UnsupportedAttribute(ISymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            foreach (var name in UnsupportedAttributes)
            {
                if (attribute.AttributeClass.Is(name))
                    return attribute.AttributeClass!.Name.Replace("Attribute", "");
            }
        }
        return null;
    }

    /// <summary>Types of the framework: System.Text.Json has converters for many of them (DateOnly, Version, tuples, ...).</summary>
    private static bool IsFrameworkType(INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace;
        while (ns is { ContainingNamespace.IsGlobalNamespace: false })
            ns = ns.ContainingNamespace;
        return ns is { IsGlobalNamespace: false } && (ns.Name == "System" || ns.Name == "Microsoft");
    }

    /// <summary>The C# expression for a constructor parameter missing from JSON: its default value, or default.</summary>
    private static string? DefaultValue(IParameterSymbol parameter)
    {
        if (!parameter.HasExplicitDefaultValue || parameter.ExplicitDefaultValue is null)
            return "default!";
        var type = parameter.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        switch (parameter.ExplicitDefaultValue)
        {
            case string s:
                return SymbolDisplay.FormatLiteral(s, quote: true);
            case bool b:
                return b ? "true" : "false";
            case char c:
                return SymbolDisplay.FormatLiteral(c, quote: true);
            case decimal d:
                return d.ToString(CultureInfo.InvariantCulture) + "m";
            case double d when double.IsNaN(d) || double.IsInfinity(d):
            case float f when float.IsNaN(f) || float.IsInfinity(f):
                return null;
            case double d:
                return "(" + type + ")(" + d.ToString("R", CultureInfo.InvariantCulture) + "d)";
            case float f:
                return "(" + type + ")(" + f.ToString("R", CultureInfo.InvariantCulture) + "f)";
            case IFormattable number:
                return "(" + type + ")(" + number.ToString(null, CultureInfo.InvariantCulture) + ")";
            default:
                return null;
        }
    }
}
