using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace AppRuntime.Generators.Tests.Serialization;

/// <summary>
/// The shapes of <see cref="SerializationShapes"/> compiled twice in memory: assembly "Shapes" with the AppRuntime generator (a
/// module with one queue per shape, so the generated serializers are the ones an app gets), and assembly "StjShapes", which
/// references it and declares a JsonSerializerContext over the same types, compiled with System.Text.Json's own source
/// generator (the one of the .NET targeting pack this project builds with). Both load into one context: the same CLR types
/// go through both serializers.
/// </summary>
internal sealed class ShapeAssemblies
{
    private static readonly Lazy<ShapeAssemblies> Shared = new(() => new ShapeAssemblies());

    private readonly Func<byte[], object?>[] _readers;
    private readonly Func<object?, byte[]>[] _writers;
    private readonly JsonTypeInfo[] _typeInfos;

    private ShapeAssemblies()
    {
        var shapes = CompiledApp.Build("Shapes", CompiledApp.RunReferences, ("Shapes.cs", SerializationShapes.Source), ("Module.cs", ModuleSource()),
            ("Harness.cs", Harness));
        var stjImage = BuildWithStj("StjShapes", CompiledApp.RunReferences.Add(MetadataReference.CreateFromImage(shapes)), StjContextSource());
        App = CompiledApp.Load(stjImage, shapes);
        var shapesAssembly = App.Load("Shapes");
        var harness = shapesAssembly.GetType("Shapes.Harness", throwOnError: true)!;
        Types = (Type[])harness.GetMethod("Types")!.Invoke(null, null)!;
        _readers = (Func<byte[], object?>[])harness.GetMethod("Readers")!.Invoke(null, null)!;
        _writers = (Func<object?, byte[]>[])harness.GetMethod("Writers")!.Invoke(null, null)!;
        var context = (JsonSerializerContext)App.Assembly.GetType("StjShapes.StjContext", throwOnError: true)!
            .GetProperty("Default", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        _typeInfos = Types.Select(t => context.GetTypeInfo(t) ?? throw new InvalidOperationException("No STJ metadata for " + t)).ToArray();
    }

    public static ShapeAssemblies Instance => Shared.Value;

    public CompiledApp App { get; }

    /// <summary>The task types, in the order of <see cref="SerializationShapes.TaskTypes"/>.</summary>
    public Type[] Types { get; }

    public int IndexOf(string taskType) => Array.IndexOf(SerializationShapes.TaskTypes, taskType) is var i and >= 0
        ? i
        : throw new ArgumentException("Unknown shape " + taskType, nameof(taskType));

    /// <summary>The generated serializer's Deserialize (throws TaskDeserializationException on a bad payload).</summary>
    public object? GeneratedRead(int shape, byte[] json) => _readers[shape](json);

    public byte[] GeneratedWrite(int shape, object? value) => _writers[shape](value);

    /// <summary>System.Text.Json with its source-generated metadata and default options.</summary>
    public object? StjRead(int shape, byte[] json) => JsonSerializer.Deserialize(json, _typeInfos[shape]);

    public byte[] StjWrite(int shape, object? value) => JsonSerializer.SerializeToUtf8Bytes(value, _typeInfos[shape]);

    private static string ModuleSource()
    {
        var queues = string.Concat(SerializationShapes.TaskTypes.Select((t, i) => "[TaskQueue<" + t + ">(\"q" + i + "\", Backend = \"Redis\")]\n"));
        var handlers = string.Concat(SerializationShapes.TaskTypes.Select((t, i) => $$"""
            [TaskHandler("q{{i}}")]
            public sealed class Handler{{i}} : ITaskHandler<{{t}}>
            {
                public ValueTask HandleAsync({{t}} task, TaskContext context, CancellationToken cancellationToken) => default;
            }

            """));
        var sources = string.Concat(SerializationShapes.TaskTypes.Select((t, i) => $$"""
            [TaskSource("q{{i}}")]
            public sealed class Source{{i}} : ITaskSource<{{t}}>
            {
                public Task RunAsync(ITaskSourceContext<{{t}}> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }

            """));
        return """
            using System.Collections.Generic;
            using System.Threading;
            using System.Threading.Tasks;
            using AppRuntime;

            namespace Shapes;

            [ApplicationModule("shapes")]

            """ + queues + "public static partial class ShapesModule;\n\n" + handlers + sources;
    }

    private static readonly string Harness = """
        using System;
        using System.Collections.Generic;
        using AppRuntime;
        using Microsoft.Extensions.Configuration;
        using Microsoft.Extensions.DependencyInjection;

        namespace Shapes;

        public sealed class Capture : IAppRuntimeBuilder
        {
            public IServiceCollection Services { get; } = new ServiceCollection();
            public IConfiguration Configuration { get; } = new ConfigurationBuilder().Build();
            public Dictionary<string, Func<byte[], object?>> Readers { get; } = new();
            public Dictionary<string, Func<object?, byte[]>> Writers { get; } = new();
            public bool AddModule(ModuleTopology topology) => true;
            public IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null)
            {
                var s = serializer ?? throw new InvalidOperationException("No serializer for queue " + definition.Name);
                Readers[definition.Name] = bytes => s.Deserialize(bytes);
                Writers[definition.Name] = value => s.Serialize((T)value!);
                return this;
            }
            public IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition) => this;
            public IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory) => this;
            public IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) => this;
            public IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) => this;
            public IAppRuntimeBuilder AddConfigSection<T>(ConfigSectionDefinition<T> definition) where T : class => this;
            public IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory) => this;
            public IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider) => this;
        }

        public static class Harness
        {
            private static readonly Capture Captured = Run();

            private static Capture Run()
            {
                var capture = new Capture();
                capture.AddShapesModule();
                return capture;
            }

            public static Type[] Types() => new Type[] { TYPES };

            public static Func<byte[], object?>[] Readers()
            {
                var result = new Func<byte[], object?>[Captured.Readers.Count];
                for (var i = 0; i < result.Length; i++)
                    result[i] = Captured.Readers["q" + i];
                return result;
            }

            public static Func<object?, byte[]>[] Writers()
            {
                var result = new Func<object?, byte[]>[Captured.Writers.Count];
                for (var i = 0; i < result.Length; i++)
                    result[i] = Captured.Writers["q" + i];
                return result;
            }
        }
        """.Replace("TYPES", string.Join(", ", SerializationShapes.TaskTypes.Select(t => "typeof(" + t + ")")), StringComparison.Ordinal);

    private static string StjContextSource() => """
        using System.Collections.Generic;
        using System.Text.Json.Serialization;
        using Shapes;

        namespace StjShapes;

        """ + string.Concat(SerializationShapes.TaskTypes.Select(t => "[JsonSerializable(typeof(" + t + "))]\n")) +
        "public partial class StjContext : JsonSerializerContext;\n";

    /// <summary>Compiles <paramref name="source"/> with System.Text.Json's source generator; fails on any warning or error.</summary>
    public static byte[] BuildWithStj(string assemblyName, IEnumerable<MetadataReference> references, string source)
    {
        var compilation = TestReferences.Compile(assemblyName, references, (assemblyName + ".cs", source));
        var driver = CSharpGeneratorDriver.Create(StjGenerators.Value, parseOptions: TestReferences.ParseOptions);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        Assert.True(diagnostics.IsEmpty, "System.Text.Json generator diagnostics:\n" + string.Join("\n", diagnostics));
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        var problems = emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(emit.Success && problems.Count == 0, "Compilation failed:\n" + string.Join("\n", problems));
        return stream.ToArray();
    }

    /// <summary>
    /// System.Text.Json's source generator, from the targeting pack this project compiles against (its path is recorded at build
    /// time as assembly metadata StjSourceGenerator).
    /// </summary>
    public static readonly Lazy<ImmutableArray<ISourceGenerator>> StjGenerators = new(() =>
    {
        var path = typeof(ShapeAssemblies).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "StjSourceGenerator").Value;
        Assert.True(File.Exists(path), "System.Text.Json source generator not found at '" + path + "'");
        var reference = new AnalyzerFileReference(path!, new AnalyzerLoader());
        return reference.GetGenerators(LanguageNames.CSharp);
    });

    private sealed class AnalyzerLoader : IAnalyzerAssemblyLoader
    {
        public void AddDependencyLocation(string fullPath)
        {
        }

        public Assembly LoadFromPath(string fullPath) => Assembly.LoadFrom(fullPath);
    }
}
