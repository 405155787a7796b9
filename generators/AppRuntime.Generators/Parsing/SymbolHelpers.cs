using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AppRuntime.Generators.Parsing;

internal static class SymbolHelpers
{
    private static readonly SymbolDisplayFormat DisplayFormat = SymbolDisplayFormat.CSharpErrorMessageFormat
        .WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    public static string Fq(this ITypeSymbol type) =>
        type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

    public static string Display(this ITypeSymbol type) =>
        type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(DisplayFormat);

    public static TypeRef ToRef(this ITypeSymbol type) => new(type.Fq(), type.Display());

    /// <summary>Namespace-qualified metadata name, e.g. <c>AppRuntime.ITaskHandler`1</c>.</summary>
    public static string MetadataKey(this INamedTypeSymbol type)
    {
        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() + "." : "";
        var outer = "";
        for (var c = type.ContainingType; c is not null; c = c.ContainingType)
            outer = c.MetadataName + "+" + outer;
        return ns + outer + type.MetadataName;
    }

    public static bool Is(this INamedTypeSymbol? type, string metadataKey) =>
        type is not null && type.OriginalDefinition.MetadataKey() == metadataKey;

    public static IEnumerable<INamedTypeSymbol> ImplementationsOf(this ITypeSymbol type, string openKey) =>
        type.AllInterfaces.Where(i => i.IsGenericType && i.OriginalDefinition.MetadataKey() == openKey);

    public static LocationInfo? LocationOf(this ISymbol symbol, CancellationToken ct)
    {
        foreach (var reference in symbol.DeclaringSyntaxReferences)
        {
            var node = reference.GetSyntax(ct);
            return node switch
            {
                BaseTypeDeclarationSyntax t => LocationInfo.From(t.Identifier.GetLocation()),
                PropertyDeclarationSyntax p => LocationInfo.From(p.Identifier.GetLocation()),
                VariableDeclaratorSyntax v => LocationInfo.From(v.Identifier.GetLocation()),
                ParameterSyntax p => LocationInfo.From(p.GetLocation()),
                _ => LocationInfo.From(node.GetLocation()),
            };
        }
        return null;
    }

    public static LocationInfo? LocationOf(this AttributeData attribute, CancellationToken ct) =>
        LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(ct));

    /// <summary>The location of a named or positional argument of an attribute, or the attribute itself.</summary>
    public static LocationInfo? ArgumentLocation(this AttributeData attribute, string? name, int position, CancellationToken ct)
    {
        if (attribute.ApplicationSyntaxReference?.GetSyntax(ct) is not AttributeSyntax syntax)
            return null;
        var args = syntax.ArgumentList?.Arguments;
        if (args is { } list)
        {
            var positional = 0;
            foreach (var arg in list)
            {
                if (arg.NameEquals is { } ne)
                {
                    if (name is not null && ne.Name.Identifier.ValueText == name)
                        return LocationInfo.From(arg);
                    continue;
                }
                if (arg.NameColon is null && positional++ == position && position >= 0)
                    return LocationInfo.From(arg);
            }
        }
        return LocationInfo.From(syntax);
    }

    public static T? Named<T>(this AttributeData attribute, string name, T? fallback)
    {
        foreach (var pair in attribute.NamedArguments)
        {
            if (pair.Key == name && pair.Value.Value is T value)
                return value;
        }
        return fallback;
    }

    public static bool HasAttribute(this ISymbol symbol, string metadataKey) =>
        symbol.GetAttributes().Any(a => a.AttributeClass.Is(metadataKey));

    public static bool IsPartial(this INamedTypeSymbol type, CancellationToken ct) =>
        type.DeclaringSyntaxReferences.Any(r => r.GetSyntax(ct) is TypeDeclarationSyntax t &&
            t.Modifiers.Any(m => m.ValueText == "partial"));

    /// <summary>True when generated code in the same assembly can name the type.</summary>
    public static bool IsAccessibleFromAssembly(this INamedTypeSymbol type)
    {
        for (ISymbol? s = type; s is INamedTypeSymbol t; s = t.ContainingType)
        {
            if (t.DeclaredAccessibility is Accessibility.Private or Accessibility.Protected or Accessibility.ProtectedAndInternal)
                return false;
        }
        return true;
    }

    public static string Kebab(string name)
    {
        var chars = new System.Text.StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]) && char.IsUpper(name[i - 1]))))
                    chars.Append('-');
                chars.Append(char.ToLowerInvariant(c));
            }
            else
            {
                chars.Append(c);
            }
        }
        return chars.ToString();
    }

    /// <summary>Mirrors AppRuntime.NameValidation: 1-100 characters of letters, digits, '-', '_', '.' or ':'.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name!.Length > 100)
            return false;
        foreach (var c in name)
        {
            var ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.' or ':';
            if (!ok)
                return false;
        }
        return true;
    }

    public const string NameRule = "use 1-100 characters of letters, digits, '-', '_', '.' or ':'";
}
