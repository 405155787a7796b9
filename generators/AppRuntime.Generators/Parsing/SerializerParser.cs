using System;
using System.Collections.Generic;
using System.Linq;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Parsing;

/// <summary>
/// Decides whether a task type can be written and read by generated Utf8JsonWriter/JsonElement code, and collects
/// the object types involved. (The System.Text.Json generator does not run on another generator's output, so the
/// AppRuntime generator writes the serializer itself.)
/// </summary>
internal static class SerializerParser
{
    public static SerializerModel Parse(ITypeSymbol taskType)
    {
        var objects = new Dictionary<string, JsonObjectModel>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        string? OnObject(INamedTypeSymbol type) => Describe(type, objects, visiting, OnObject);
        var root = ShapeResolver.Resolve(taskType, OnObject, out var reason);
        if (root is null)
            return new SerializerModel(false, reason, null, EquatableArray<JsonObjectModel>.Empty);
        return new SerializerModel(true, null, root,
            objects.Values.OrderBy(o => o.TypeFullyQualified, StringComparer.Ordinal).ToEquatableArray());
    }

    private static string? Describe(INamedTypeSymbol type, Dictionary<string, JsonObjectModel> objects, HashSet<string> visiting,
        Func<INamedTypeSymbol, string?> onObject)
    {
        var key = type.Fq();
        if (objects.ContainsKey(key) || !visiting.Add(key))
            return null;
        if (!type.IsAccessibleFromAssembly())
            return type.Display() + " is not accessible";
        if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct))
            return type.Display() + " is not a class or struct";

        var properties = new List<IPropertySymbol>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var t = type; t is not null && t.SpecialType != SpecialType.System_Object && t.SpecialType != SpecialType.System_ValueType; t = t.BaseType)
        {
            foreach (var p in t.GetMembers().OfType<IPropertySymbol>())
            {
                if (p.IsStatic || p.IsIndexer || p.DeclaredAccessibility != Accessibility.Public || p.GetMethod is null
                    || p.GetMethod.DeclaredAccessibility != Accessibility.Public || !seen.Add(p.Name))
                    continue;
                properties.Add(p);
            }
        }

        // The constructor: the public one with the most parameters that all match a property by name and type.
        IMethodSymbol? constructor = null;
        foreach (var c in type.InstanceConstructors.Where(c => c.DeclaredAccessibility == Accessibility.Public).OrderByDescending(c => c.Parameters.Length))
        {
            if (c.Parameters.Length == 1 && SymbolEqualityComparer.Default.Equals(c.Parameters[0].Type, type))
                continue;
            var matches = c.Parameters.All(param => properties.Any(p =>
                string.Equals(p.Name, param.Name, StringComparison.OrdinalIgnoreCase) &&
                SymbolEqualityComparer.Default.Equals(p.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated),
                    param.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated))));
            if (matches)
            {
                constructor = c;
                break;
            }
        }
        if (constructor is null)
            return type.Display() + " has no public constructor whose parameters all match its properties";

        var members = new List<JsonMemberModel>();
        foreach (var p in properties)
        {
            var shape = ShapeResolver.Resolve(p.Type, onObject, out var reason);
            if (shape is null)
                return "property " + type.Display() + "." + p.Name + ": " + reason;
            var ctorIndex = -1;
            for (var i = 0; i < constructor.Parameters.Length; i++)
            {
                if (string.Equals(constructor.Parameters[i].Name, p.Name, StringComparison.OrdinalIgnoreCase))
                    ctorIndex = i;
            }
            var settable = p.SetMethod is { DeclaredAccessibility: Accessibility.Public };
            var initOnly = settable && p.SetMethod!.IsInitOnly;
            var nonNullableReference = p.Type.IsReferenceType && p.NullableAnnotation == NullableAnnotation.NotAnnotated;
            var canRead = ctorIndex >= 0 || settable;
            members.Add(new JsonMemberModel(p.Name, CamelCase(p.Name), shape, nonNullableReference, canRead, ctorIndex,
                initOnly || (p.IsRequired && ctorIndex < 0), settable && !initOnly && !p.IsRequired));
        }

        objects[key] = new JsonObjectModel(key, type.Display(), type.IsValueType, members.ToEquatableArray(), constructor.Parameters.Length);
        return null;
    }

    private static string CamelCase(string name) =>
        name.Length == 0 || char.IsLower(name[0]) ? name : char.ToLowerInvariant(name[0]) + name.Substring(1);
}
