using AppRuntime.TestSupport;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// The shared queue contract suite once more on the system clock, as production runs it: lease expiry and due times
/// pass in real time (the suite's <see cref="AdvanceTimeAsync"/> waits), so the real-time polling and wake-ups are covered.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisTaskQueueRealTimeContractTests : TaskQueueContractTests
{
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer? _connection;
    private RedisQueueBackend? _backend;

    protected override TimeProvider Time => TimeProvider.System;

    // Generous margins: CI machines are shared and a real-time check must not race the scheduler.
    protected override TimeSpan VisibilityTimeout => TimeSpan.FromSeconds(4);

    protected override TimeSpan ExpiryMargin => TimeSpan.FromMilliseconds(500);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _connection = await RedisTestServer.ConnectAsync();
        _backend = new RedisQueueBackend(_connection, new RedisQueueOptions { KeyPrefix = _prefix }, TimeProvider.System);
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

    protected override async ValueTask AdvanceTimeAsync(TimeSpan by) => await Task.Delay(by);
}
