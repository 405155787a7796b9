using System;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Parsing;

/// <summary>
/// Maps a type to the <see cref="ValueShape"/> the generated binder or serializer handles: scalars, arrays, lists,
/// string-keyed dictionaries and objects. Object types are handed to a callback that decides whether they are supported.
/// </summary>
internal static class ShapeResolver
{
    /// <summary>Resolves <paramref name="type"/>; returns null and sets <paramref name="reason"/> when unsupported.</summary>
    public static ValueShape? Resolve(ITypeSymbol type, Func<INamedTypeSymbol, string?> onObject, out string? reason)
    {
        reason = null;
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            var inner = Resolve(nullable.TypeArguments[0], onObject, out reason);
            return inner is null ? null : inner with { IsNullableValue = true, AnnotatedType = inner.TypeFullyQualified + "?" };
        }

        var scalar = ScalarOf(type);
        if (scalar != ScalarKind.None)
            return new ValueShape(ShapeKind.Scalar, type.Fq(), scalar, false, null, Annotated(type));

        if (type is IArrayTypeSymbol array)
        {
            if (array.Rank != 1)
            {
                reason = "multi-dimensional arrays are not supported";
                return null;
            }
            var element = Resolve(array.ElementType, onObject, out reason);
            return element is null ? null : new ValueShape(ShapeKind.Array, type.Fq(), ScalarKind.None, false, element, Annotated(type));
        }

        if (type is not INamedTypeSymbol named)
        {
            reason = "only named types, arrays and nullable value types are supported";
            return null;
        }

        if (named.IsGenericType)
        {
            var key = named.OriginalDefinition.MetadataKey();
            switch (key)
            {
                case "System.Collections.Generic.List`1":
                case "System.Collections.Generic.IList`1":
                case "System.Collections.Generic.IReadOnlyList`1":
                case "System.Collections.Generic.ICollection`1":
                case "System.Collections.Generic.IReadOnlyCollection`1":
                case "System.Collections.Generic.IEnumerable`1":
                {
                    var element = Resolve(named.TypeArguments[0], onObject, out reason);
                    return element is null ? null : new ValueShape(ShapeKind.List, type.Fq(), ScalarKind.None, false, element, Annotated(type));
                }
                case "System.Collections.Generic.Dictionary`2":
                case "System.Collections.Generic.IDictionary`2":
                case "System.Collections.Generic.IReadOnlyDictionary`2":
                {
                    if (named.TypeArguments[0].SpecialType != SpecialType.System_String)
                    {
                        reason = "dictionary keys must be strings";
                        return null;
                    }
                    var element = Resolve(named.TypeArguments[1], onObject, out reason);
                    return element is null ? null : new ValueShape(ShapeKind.Dictionary, type.Fq(), ScalarKind.None, false, element, Annotated(type));
                }
            }
        }

        if (named.SpecialType == SpecialType.System_Object || named.TypeKind is TypeKind.Interface or TypeKind.Delegate or TypeKind.Error
            || named.IsAbstract || named.IsStatic)
        {
            reason = named.TypeKind == TypeKind.Error ? "the type could not be resolved" : "interfaces, abstract classes, delegates and object are not supported";
            return null;
        }

        reason = onObject(named);
        return reason is null ? new ValueShape(ShapeKind.Object, type.Fq(), ScalarKind.None, false, null, Annotated(type)) : null;
    }

    private static readonly SymbolDisplayFormat AnnotatedFormat = SymbolDisplayFormat.FullyQualifiedFormat
        .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>The type as declared, with nullable reference annotations (e.g. <c>global::System.Collections.Generic.List&lt;string?&gt;?</c>).</summary>
    private static string Annotated(ITypeSymbol type) => type.ToDisplayString(AnnotatedFormat);

    public static ScalarKind ScalarOf(ITypeSymbol type)
    {
        switch (type.SpecialType)
        {
            case SpecialType.System_String: return ScalarKind.String;
            case SpecialType.System_Boolean: return ScalarKind.Boolean;
            case SpecialType.System_Char: return ScalarKind.Char;
            case SpecialType.System_Byte: return ScalarKind.Byte;
            case SpecialType.System_SByte: return ScalarKind.SByte;
            case SpecialType.System_Int16: return ScalarKind.Int16;
            case SpecialType.System_UInt16: return ScalarKind.UInt16;
            case SpecialType.System_Int32: return ScalarKind.Int32;
            case SpecialType.System_UInt32: return ScalarKind.UInt32;
            case SpecialType.System_Int64: return ScalarKind.Int64;
            case SpecialType.System_UInt64: return ScalarKind.UInt64;
            case SpecialType.System_Single: return ScalarKind.Single;
            case SpecialType.System_Double: return ScalarKind.Double;
            case SpecialType.System_Decimal: return ScalarKind.Decimal;
            case SpecialType.System_DateTime: return ScalarKind.DateTime;
        }
        if (type.TypeKind == TypeKind.Enum)
            return ScalarKind.Enum;
        if (type is INamedTypeSymbol named)
        {
            switch (named.MetadataKey())
            {
                case "System.DateTimeOffset": return ScalarKind.DateTimeOffset;
                case "System.TimeSpan": return ScalarKind.TimeSpan;
                case "System.DateOnly": return ScalarKind.DateOnly;
                case "System.TimeOnly": return ScalarKind.TimeOnly;
                case "System.Guid": return ScalarKind.Guid;
                case "System.Uri": return ScalarKind.Uri;
            }
        }
        return ScalarKind.None;
    }
}
