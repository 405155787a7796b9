using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AppRuntime.Generators.Parsing;

/// <summary>
/// Reads the <see cref="CompilationFacts"/>: whether the compilation is an application, the queue backends it can use, and whether
/// it sees AppRuntime.Core's static registration methods.
/// </summary>
internal static class CompilationFactsReader
{
    private const string BackendInterface = "AppRuntime.ITaskQueueBackend";
    private const string DirectRegistrationType = "AppRuntime.AppRuntimeRegistration";

    /// <summary>The name of a called method that starts with <c>Add</c> (<c>builder.AddShopModule()</c>), else null.</summary>
    public static string? AddCallName(SyntaxNode node)
    {
        if (node is not InvocationExpressionSyntax invocation)
            return null;
        var name = invocation.Expression switch
        {
            MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
            MemberBindingExpressionSyntax binding => binding.Name.Identifier.ValueText,
            SimpleNameSyntax simple => simple.Identifier.ValueText,
            _ => null,
        };
        return name is { Length: > 3 } && name.StartsWith("Add", StringComparison.Ordinal) ? name : null;
    }

    /// <summary>
    /// Backends are the public, non-abstract classes implementing <c>AppRuntime.ITaskQueueBackend</c> in the assemblies that reference
    /// AppRuntime.Abstractions (and in the compilation itself), by their <c>const string BackendName</c>. One without that constant
    /// makes the set unknowable, and backend names are then not checked.
    /// </summary>
    public static CompilationFacts Read(Compilation compilation, CancellationToken ct)
    {
        var executable = compilation.Options.OutputKind is OutputKind.ConsoleApplication or OutputKind.WindowsApplication;
        var contract = compilation.GetTypeByMetadataName(BackendInterface);
        // Core's own type only: a type of the same name in the project itself (which GetTypeByMetadataName prefers) would take
        // the generated calls, and two of them (null) leave the interface calls, which always compile.
        var direct = compilation.GetTypeByMetadataName(DirectRegistrationType) is
            { DeclaredAccessibility: Accessibility.Public, ContainingAssembly.Name: "AppRuntime.Core" };
        if (contract is null)
            return CompilationFacts.None with { IsExecutable = executable, DirectRegistration = direct };
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        var known = true;
        var assemblies = compilation.SourceModule.ReferencedAssemblySymbols
            .Where(a => a.Name.StartsWith("AppRuntime.", StringComparison.Ordinal) ||
                a.Modules.Any(m => m.ReferencedAssemblies.Any(r => r.Name == "AppRuntime.Abstractions")))
            .Select(a => (a.GlobalNamespace, Source: false))
            .Append((compilation.Assembly.GlobalNamespace, Source: true));
        foreach (var (root, source) in assemblies)
        {
            foreach (var type in Types(root, ct))
            {
                if (type.IsAbstract || type.TypeKind != TypeKind.Class || !type.AllInterfaces.Contains(contract, SymbolEqualityComparer.Default))
                    continue;
                if (!source && type.DeclaredAccessibility != Accessibility.Public)
                    continue; // an adapter's internal wrappers are not backends an app names
                var constant = type.GetMembers("BackendName").OfType<IFieldSymbol>().FirstOrDefault(f => f.IsConst && f.ConstantValue is string);
                if (constant is null)
                    known = false;
                else
                    names.Add((string)constant.ConstantValue!);
            }
        }
        return new CompilationFacts(executable, EquatableArray<string>.Empty, names.ToEquatableArray(), known && names.Count > 0, direct);
    }

    private static IEnumerable<INamedTypeSymbol> Types(INamespaceSymbol ns, CancellationToken ct)
    {
        foreach (var member in ns.GetMembers())
        {
            ct.ThrowIfCancellationRequested();
            if (member is INamespaceSymbol child)
            {
                foreach (var type in Types(child, ct))
                    yield return type;
            }
            else if (member is INamedTypeSymbol type)
            {
                yield return type;
                foreach (var nested in type.GetTypeMembers())
                    yield return nested;
            }
        }
    }
}
