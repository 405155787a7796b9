using AppRuntime.TestSupport;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// The shared queue contract suite against a real redis-server. The queue takes every time from the injected
/// <see cref="FakeTimeProvider"/> (lease expiry and due times are computed by the client and passed to the Lua scripts),
/// so the suite's clock control works unchanged; only the idle polling of Redis runs in real time.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisTaskQueueContractTests : TaskQueueContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer? _connection;
    private RedisQueueBackend? _backend;

    protected override TimeProvider Time => _time;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _connection = await RedisTestServer.ConnectAsync();
        _backend = new RedisQueueBackend(_connection, new RedisQueueOptions { KeyPrefix = _prefix, PollInterval = TimeSpan.FromMilliseconds(20) }, _time);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_connection is not null)
        {
            await RedisTestServer.DeleteKeysAsync(_connection, _prefix);
            await _connection.DisposeAsync();
        }
    }

    protected override ValueTask<ITaskQueue<ContractTask>> CreateQueueAsync(QueueDefinition definition) =>
        ValueTask.FromResult(_backend!.Create(definition, ContractTask.Serializer));

    protected override ValueTask AdvanceTimeAsync(TimeSpan by)
    {
        _time.Advance(by);
        return ValueTask.CompletedTask;
    }
}
