using System.Linq;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Parsing;

/// <summary>Reads a JsonSerializerContext subclass of the app and the types its [JsonSerializable] attributes list.</summary>
internal static class JsonContextParser
{
    public static JsonContextModel? Parse(GeneratorAttributeSyntaxContext context)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || type.IsGenericType || type.IsAbstract || !type.IsAccessibleFromAssembly())
            return null;
        var isContext = false;
        for (var t = type.BaseType; t is not null && !isContext; t = t.BaseType)
            isContext = t.Is(KnownNames.JsonSerializerContext);
        if (!isContext)
            return null;
        var types = context.Attributes
            .Select(a => a.ConstructorArguments.Length > 0 ? a.ConstructorArguments[0].Value as ITypeSymbol : null)
            .Where(t => t is not null && t.TypeKind != TypeKind.Error)
            .Select(t => t!.Fq())
            .Distinct()
            .OrderBy(t => t, System.StringComparer.Ordinal)
            .ToEquatableArray();
        return types.IsEmpty ? null : new JsonContextModel(type.Fq(), types);
    }
}
