using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace AppRuntime.Architecture.Tests;

/// <summary>
/// The runtime's contracts and adapters know nothing of the applications built on them (issue #21): no type, method, property or
/// field in <c>src/</c> speaks of mail, orders or payments, except the Mail adapter, whose subject is mail. Read from the built
/// assemblies' metadata (every src/ project's Release build, found next to its project), without loading them.
/// </summary>
public sealed partial class DomainAgnosticTests
{
    /// <summary>Words of the two sample applications' domains, matched as whole words of a PascalCase or camelCase name.</summary>
    private static readonly string[] DomainWords = ["Mail", "Email", "Imap", "Smtp", "Order", "Orders", "Payment", "Payments", "Invoice", "Customer", "Dunning", "Notice"];

    public static TheoryData<string> SourceAssemblies()
    {
        var data = new TheoryData<string>();
        foreach (var project in Directory.GetDirectories(Path.Combine(RepositoryRoot(), "src")).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            if (project is not null && project != "AppRuntime.Mail" && File.Exists(Path.Combine(RepositoryRoot(), "src", project, project + ".csproj")))
                data.Add(project);
        }
        return data;
    }

    [Fact]
    public void Every_src_project_but_the_mail_adapter_is_checked()
    {
        var checkedProjects = SourceAssemblies().Cast<object[]>().Select(row => (string)row[0]).ToList();
        Assert.Contains("AppRuntime.Abstractions", checkedProjects);
        Assert.Contains("AppRuntime.Core", checkedProjects);
        Assert.Contains("AppRuntime.Webhooks", checkedProjects);
        Assert.DoesNotContain("AppRuntime.Mail", checkedProjects);
        Assert.True(checkedProjects.Count >= 10, string.Join(", ", checkedProjects));
    }

    [Theory]
    [MemberData(nameof(SourceAssemblies))]
    public void No_name_in_the_assembly_speaks_of_an_applications_domain(string project)
    {
        var path = Path.Combine(RepositoryRoot(), "src", project, "bin", Configuration(), "net10.0", project + ".dll");
        Assert.True(File.Exists(path), $"{path} is not built (build the solution in {Configuration()} first)");
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var names = new List<string>();
        foreach (var handle in metadata.TypeDefinitions)
        {
            var type = metadata.GetTypeDefinition(handle);
            var typeName = metadata.GetString(type.Name);
            if (typeName.StartsWith('<'))
                continue; // compiler-generated
            var full = metadata.GetString(type.Namespace) + "." + typeName;
            names.Add(full);
            names.AddRange(type.GetMethods().Select(m => full + "." + metadata.GetString(metadata.GetMethodDefinition(m).Name)));
            names.AddRange(type.GetProperties().Select(p => full + "." + metadata.GetString(metadata.GetPropertyDefinition(p).Name)));
            names.AddRange(type.GetFields().Select(f => full + "." + metadata.GetString(metadata.GetFieldDefinition(f).Name)));
        }
        Assert.NotEmpty(names);
        var offending = names.Where(n => !n.Contains('<', StringComparison.Ordinal) && Words(n).Any(w => DomainWords.Contains(w, StringComparer.OrdinalIgnoreCase)))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(offending.Count == 0, $"{project} names a sample's domain: {string.Join(", ", offending.Take(20))}");
    }

    /// <summary>The words of a dotted PascalCase/camelCase/snake_case name: <c>PaymentStore.get_AmountDue</c> → Payment, Store, get, Amount, Due.</summary>
    internal static IEnumerable<string> Words(string name) => WordPattern().Matches(name).Select(m => m.Value);

    [Fact]
    public void Words_are_split_at_case_changes_and_separators() =>
        Assert.Equal(["App", "Runtime", "Payment", "Store", "get", "Amount", "Due", "IMAP", "Folder"], Words("AppRuntime.PaymentStore.get_AmountDue.IMAPFolder"));

    [GeneratedRegex("[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")]
    private static partial Regex WordPattern();

    /// <summary>The configuration these tests were built in (…/bin/&lt;Configuration&gt;/net10.0/): the src/ assemblies are read from the same one.</summary>
    private static string Configuration() => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AppRuntime.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("AppRuntime.sln not found above " + AppContext.BaseDirectory);
    }
}
