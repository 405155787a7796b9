using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Generators.Tests;

/// <summary>Compiles sources with the generator into an assembly and loads it into a collectible AssemblyLoadContext.</summary>
internal sealed class CompiledApp : IDisposable
{
    /// <summary>References for apps that run: .NET 10, AppRuntime.Abstractions + Core, hosting, configuration, DI.</summary>
    public static readonly ImmutableArray<MetadataReference> RunReferences = TestReferences.All.AddRange(new[]
    {
        typeof(AppRuntimeHostingExtensions).Assembly,
        typeof(RedisQueueBackend).Assembly,
        typeof(Host).Assembly,
        typeof(HostApplicationBuilder).Assembly,
        typeof(ConfigurationBuilder).Assembly,
        typeof(MemoryConfigurationBuilderExtensions).Assembly,
        typeof(ServiceCollection).Assembly,
        typeof(Microsoft.Extensions.Logging.LoggerFactory).Assembly,
        typeof(Microsoft.Extensions.DependencyInjection.LoggingServiceCollectionExtensions).Assembly,
    }.Distinct().Select(a => (MetadataReference)MetadataReference.CreateFromFile(a.Location)));

    private readonly Context _context;

    private CompiledApp(Context context, Assembly assembly)
    {
        _context = context;
        Assembly = assembly;
    }

    public Assembly Assembly { get; }

    /// <summary>Compiles and emits; fails the test with every error and warning when it does not compile cleanly.</summary>
    public static byte[] Build(string assemblyName, IEnumerable<MetadataReference> references, params (string Path, string Text)[] sources)
    {
        var compilation = TestReferences.Compile(assemblyName, references, sources);
        var (_, output, generatorDiagnostics) = TestReferences.Run(compilation);
        // Information (a queue that gets the default worker pool, say) is not a problem of the app.
        var problems = generatorDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, "Generator diagnostics:\n" + string.Join("\n", problems));
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        var errors = emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(emit.Success && errors.Count == 0, "Compilation failed:\n" + string.Join("\n", errors));
        return stream.ToArray();
    }

    /// <summary>Loads the app image (and library images it references) into a collectible context.</summary>
    public static CompiledApp Load(byte[] app, params byte[][] libraries)
    {
        var context = new Context(libraries);
        return new CompiledApp(context, context.LoadFromStream(new MemoryStream(app)));
    }

    public async Task<T> InvokeAsync<T>(string typeName, string method, params object?[] args)
    {
        var type = Assembly.GetType(typeName, throwOnError: true)!;
        var result = type.GetMethod(method, BindingFlags.Public | BindingFlags.Static)!.Invoke(null, args);
        return result is Task<T> task ? await task : (T)result!;
    }

    /// <summary>An assembly of the context by name (the app itself or one of the library images).</summary>
    public Assembly Load(string name) => _context.LoadFromAssemblyName(new AssemblyName(name));

    public void Dispose() => _context.Unload();

    private sealed class Context : AssemblyLoadContext
    {
        private readonly Dictionary<string, byte[]> _libraries;

        public Context(byte[][] libraries)
            : base("generated-app", isCollectible: true)
        {
            _libraries = libraries.ToDictionary(image =>
            {
                using var pe = new System.Reflection.PortableExecutable.PEReader(new MemoryStream(image));
                var reader = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
                return reader.GetString(reader.GetAssemblyDefinition().Name);
            }, image => image, StringComparer.Ordinal);
        }

        protected override Assembly? Load(AssemblyName assemblyName) =>
            _libraries.TryGetValue(assemblyName.Name!, out var image) ? LoadFromStream(new MemoryStream(image)) : null;
    }
}
