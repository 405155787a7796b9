using BenchmarkDotNet.Attributes;

namespace AppRuntime.Benchmarks.Micro;

/// <summary>Envelope payload serialization for durable backends: <see cref="JsonTaskSerializer{T}"/> over source-generated metadata.</summary>
[MemoryDiagnoser]
public class SerializationBenchmarks
{
    private readonly JsonTaskSerializer<BenchTask> _small = new(BenchJsonContext.Default.BenchTask);
    private readonly JsonTaskSerializer<OrderLike> _order = new(BenchJsonContext.Default.OrderLike);
    private readonly BenchTask _smallValue = new(123_456, 987_654_321);
    private readonly OrderLike _orderValue = new("<msg-0001@example.org>", "buyer@example.org", "Order 42: 3 items",
        string.Concat(Enumerable.Repeat("Please send 2 x widget, 1 x gadget to the usual address. ", 18)), 3, 129.90m, DateTimeOffset.UnixEpoch);
    private byte[] _smallBytes = null!;
    private byte[] _orderBytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _smallBytes = _small.Serialize(_smallValue);
        _orderBytes = _order.Serialize(_orderValue);
    }

    [Benchmark(Description = "serialize BenchTask (2 longs)")]
    public byte[] SerializeSmall() => _small.Serialize(_smallValue);

    [Benchmark(Description = "deserialize BenchTask")]
    public BenchTask DeserializeSmall() => _small.Deserialize(_smallBytes);

    [Benchmark(Description = "serialize order (~1 KB body)")]
    public byte[] SerializeOrder() => _order.Serialize(_orderValue);

    [Benchmark(Description = "deserialize order (~1 KB body)")]
    public OrderLike DeserializeOrder() => _order.Deserialize(_orderBytes);
}
