using AppRuntime.Internal;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>
/// The module composed by the AppRuntime generator (<see cref="BenchModule"/>): tasks dispatched through the generated
/// handler factory by the generated pool (4 workers), and the generated reflection-free serializer next to
/// <see cref="JsonTaskSerializer{T}"/> over System.Text.Json source-generated metadata.
/// </summary>
[MemoryDiagnoser]
public class GeneratedModuleBenchmarks
{
    private const int Batch = 1000;
    private IHost _host = null!;
    private ITaskPublisher<GenTask> _publisher = null!;
    private TaskSerializer<GenTask> _generated = null!;
    private readonly JsonTaskSerializer<GenTaskStj> _json = new(BenchJsonContext.Default.GenTaskStj);
    private readonly GenTask _task = new(42, "order 42 from buyer@example.org", 3);
    private readonly GenTaskStj _jsonTask = new(42, "order 42 from buyer@example.org", 3);
    private byte[] _generatedBytes = null!;
    private byte[] _jsonBytes = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        builder.AddAppRuntime().AddBenchModule();
        _host = builder.Build();
        await _host.StartAsync().ConfigureAwait(false);
        _publisher = _host.Services.GetRequiredService<ITaskPublisher<GenTask>>();
        var registration = (QueueRegistration<GenTask>)_host.Services.GetRequiredService<RuntimeRegistry>().Queues["gen-bench"];
        _generated = registration.Serializer ?? throw new InvalidOperationException("The generator registered no serializer for GenTask.");
        _generatedBytes = _generated.Serialize(_task);
        _jsonBytes = _json.Serialize(_jsonTask);
        // Both sides read and write the same JSON (the generator follows System.Text.Json's default rules).
        if (!_generatedBytes.AsSpan().SequenceEqual(_jsonBytes))
            throw new InvalidOperationException("The generated serializer and System.Text.Json write different JSON for GenTask.");
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "generated module end to end: publish → generated pool (4) → generated factory → handler → ack")]
    public async Task EndToEnd()
    {
        var done = Countdown.Start(Batch);
        for (var i = 0; i < Batch; i++)
            await _publisher.PublishAsync(_task).ConfigureAwait(false);
        await done.ConfigureAwait(false);
    }

    [Benchmark(Description = "generated serializer: serialize GenTask")]
    public byte[] GeneratedSerialize() => _generated.Serialize(_task);

    [Benchmark(Description = "generated serializer: deserialize GenTask")]
    public GenTask GeneratedDeserialize() => _generated.Deserialize(_generatedBytes);

    [Benchmark(Description = "JsonTaskSerializer (STJ source-gen): serialize GenTask")]
    public byte[] JsonSerialize() => _json.Serialize(_jsonTask);

    [Benchmark(Description = "JsonTaskSerializer (STJ source-gen): deserialize GenTask")]
    public GenTaskStj JsonDeserialize() => _json.Deserialize(_jsonBytes);
}
