using AppRuntime.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace AppRuntime;

/// <summary>
/// Creates durable queues stored in Redis. Tasks survive the death of any consumer process (leases expire and the task
/// is delivered again) and, when the server runs with AOF, a Redis restart. Select it per queue with
/// <c>AppRuntime:Queues:&lt;name&gt;:Backend=Redis</c>.
/// </summary>
public sealed class RedisQueueBackend : ITaskQueueBackend
{
    /// <summary>The backend name used in configuration.</summary>
    public const string BackendName = "Redis";

    private readonly IConnectionMultiplexer _connection;
    private readonly RedisQueueOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILoggerFactory _loggerFactory;

    /// <summary>Creates the backend.</summary>
    /// <param name="connection">The shared Redis connection.</param>
    /// <param name="options">Key prefix and polling; defaults when null.</param>
    /// <param name="timeProvider">The clock for lease expiry and due times; <see cref="TimeProvider.System"/> when null. All processes sharing a queue should have synchronised clocks.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    public RedisQueueBackend(IConnectionMultiplexer connection, RedisQueueOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _options = options ?? new RedisQueueOptions();
        _options.Validate();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public bool IsDurable => true;

    /// <summary>The settings in use.</summary>
    public RedisQueueOptions Options => _options;

    /// <inheritdoc />
    public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer)
    {
        ArgumentNullException.ThrowIfNull(definition);
        definition.Validate();
        if (serializer is null)
            throw new ArgumentException($"Queue '{definition.Name}': the Redis backend stores tasks as bytes and needs a TaskSerializer<{typeof(T).Name}>.", nameof(serializer));
        return new RedisTaskQueue<T>(_connection, definition, serializer, _options, _timeProvider, _loggerFactory.CreateLogger<RedisQueueBackend>());
    }
}
