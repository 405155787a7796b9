using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace AppRuntime.Generators.Tests.Serialization;

/// <summary>
/// A task type that a JsonSerializerContext of the app lists is serialized through that context (JsonTaskSerializer over its
/// JsonTypeInfo): the app's explicit choice wins over the generated serializer, and it also covers types the generator cannot
/// handle. The app is compiled in memory with both the AppRuntime and the System.Text.Json source generators.
/// </summary>
public sealed class JsonContextTests
{
    private const string App = """
        using System;
        using System.Collections.Generic;
        using System.Text;
        using System.Text.Json.Serialization;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;

        namespace CtxApp;

        public sealed record Order(string OrderId, DateOnly Due, Dictionary<int, string> ByLine);

        public sealed record Note(string NoteText);

        [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
        [JsonSerializable(typeof(Order))]
        public sealed partial class AppJson : JsonSerializerContext;

        [ApplicationModule("ctx")]
        [TaskQueue<Order>("orders", Backend = "Redis")]
        [TaskQueue<Note>("notes", Backend = "Redis")]
        public static partial class CtxModule;

        [TaskHandler("orders")]
        public sealed class OrderHandler : ITaskHandler<Order>
        {
            public ValueTask HandleAsync(Order task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        [TaskSource("orders")]
        public sealed class OrderSource : ITaskSource<Order>
        {
            public Task RunAsync(ITaskSourceContext<Order> context, CancellationToken cancellationToken) => Task.CompletedTask;
        }

        [TaskHandler("notes")]
        public sealed class NoteHandler : ITaskHandler<Note>
        {
            public ValueTask HandleAsync(Note task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        [TaskSource("notes")]
        public sealed class NoteSource : ITaskSource<Note>
        {
            public Task RunAsync(ITaskSourceContext<Note> context, CancellationToken cancellationToken) => Task.CompletedTask;
        }

        public static class Entry
        {
            public static string[] Run()
            {
                var builder = new Capture();
                builder.AddCtxModule();
                var orders = (TaskSerializer<Order>)builder.Serializers["orders"]!;
                var notes = (TaskSerializer<Note>)builder.Serializers["notes"]!;
                var order = new Order("o-1", new DateOnly(2026, 1, 2), new Dictionary<int, string> { [1] = "one" });
                var back = orders.Deserialize(orders.Serialize(order));
                string bad;
                try { orders.Deserialize(Encoding.UTF8.GetBytes("{\"orderId\":5}")); bad = "accepted"; }
                catch (TaskDeserializationException ex) { bad = ex.Message; }
                return new[]
                {
                    orders.GetType().Name,
                    Encoding.UTF8.GetString(orders.Serialize(order)),
                    (back.Due == order.Due && back.ByLine[1] == "one").ToString(),
                    bad,
                    notes.GetType().Name,
                    Encoding.UTF8.GetString(notes.Serialize(new Note("n"))),
                };
            }
        }

        public sealed class Capture : IAppRuntimeBuilder
        {
            public Microsoft.Extensions.DependencyInjection.IServiceCollection Services { get; } = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
            public Microsoft.Extensions.Configuration.IConfiguration Configuration { get; } = new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();
            public Dictionary<string, object?> Serializers { get; } = new();
            public bool AddModule(ModuleTopology topology) => true;
            public IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null) { Serializers[definition.Name] = serializer; return this; }
            public IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition) => this;
            public IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory) => this;
            public IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) => this;
            public IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) => this;
            public IAppRuntimeBuilder AddConfigSection<T>(ConfigSectionDefinition<T> definition) where T : class => this;
            public IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory) => this;
            public IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider) => this;
        }
        """;

    [Fact]
    public async Task A_task_type_listed_by_a_context_of_the_app_is_serialized_with_that_context()
    {
        var (image, moduleSource) = Build(App);
        using var app = CompiledApp.Load(image);

        var result = await app.InvokeAsync<string[]>("CtxApp.Entry", "Run");

        // The context's options apply (camelCase), and it handles what the generator cannot (DateOnly, int keys): no APPRT0020.
        Assert.Equal("JsonTaskSerializer`1", result[0]);
        Assert.Equal("""{"orderId":"o-1","due":"2026-01-02","byLine":{"1":"one"}}""", result[1]);
        Assert.Equal("True", result[2]);
        Assert.StartsWith("Payload is not a valid Order:", result[3], StringComparison.Ordinal);
        // A type no context lists keeps the generated serializer.
        Assert.Equal("TaskSerializer_CtxApp_Note", result[4]);
        Assert.Equal("""{"NoteText":"n"}""", result[5]);
        Assert.Contains("new global::AppRuntime.JsonTaskSerializer<global::CtxApp.Order>(", moduleSource, StringComparison.Ordinal);
        Assert.DoesNotContain("class TaskSerializer_CtxApp_Order", moduleSource, StringComparison.Ordinal);
    }

    /// <summary>Compiles with the AppRuntime and System.Text.Json generators; fails on any diagnostic.</summary>
    private static (byte[] Image, string ModuleSource) Build(string source)
    {
        var compilation = TestReferences.Compile("CtxApp", CompiledApp.RunReferences, ("App.cs", source));
        var generators = ImmutableArray.Create(new AppRuntimeGenerator().AsSourceGenerator()).AddRange(ShapeAssemblies.StjGenerators.Value);
        var driver = CSharpGeneratorDriver.Create(generators, parseOptions: TestReferences.ParseOptions)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        var warnings = diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList(); // information (a default worker pool) is fine
        Assert.True(warnings.Count == 0, "Generator diagnostics:\n" + string.Join("\n", warnings));
        using var stream = new MemoryStream();
        var emit = output.Emit(stream);
        var problems = emit.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(emit.Success && problems.Count == 0, "Compilation failed:\n" + string.Join("\n", problems));
        var module = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources).Single(s => s.HintName == "CtxApp.CtxModule.g.cs");
        return (stream.ToArray(), module.SourceText.ToString());
    }
}
