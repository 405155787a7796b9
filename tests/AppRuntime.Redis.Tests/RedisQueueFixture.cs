using AppRuntime.Redis.TestConsumer;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>Per-test Redis connection, unique key prefix, fake clock and cleanup.</summary>
public abstract class RedisQueueFixture : IAsyncLifetime
{
    private ConnectionMultiplexer? _connection;

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    protected string Prefix { get; } = RedisTestServer.NewPrefix();

    protected ConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("Not initialized.");

    protected IDatabase Db => Connection.GetDatabase();

    public virtual async Task InitializeAsync() => _connection = await RedisTestServer.ConnectAsync();

    public virtual async Task DisposeAsync()
    {
        if (_connection is null)
            return;
        await RedisTestServer.DeleteKeysAsync(_connection, Prefix);
        await _connection.DisposeAsync();
    }

    protected RedisQueueBackend NewBackend(TimeProvider? time = null) =>
        new(Connection, new RedisQueueOptions { KeyPrefix = Prefix, PollInterval = TimeSpan.FromMilliseconds(20) }, time ?? Time);

    protected ITaskQueue<WorkItem> NewQueue(QueueDefinition? definition = null, TimeProvider? time = null) =>
        NewBackend(time).Create(definition ?? new QueueDefinition("work", WorkItems.TaskType), WorkItems.Serializer);

    protected TaskEnvelope<WorkItem> Envelope(int n, TimeProvider? time = null) =>
        new($"task-{n}", WorkItems.TaskType, new WorkItem(n, $"item {n}"), (time ?? Time).GetUtcNow());

    protected static async Task<TaskLease<T>> ConsumeWithin<T>(ITaskQueue<T> queue, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await queue.ConsumeAsync(cts.Token);
    }
}
