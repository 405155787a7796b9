using System.Globalization;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace AppRuntime.Redis.TestApp;

/// <summary>A task that keeps its handler busy for <paramref name="HandlerMs"/> milliseconds.</summary>
public sealed record SlowTask(int Number, int HandlerMs);

/// <summary>The JSON metadata of <see cref="SlowTask"/>: the queue's serializer, which the tests publish with too.</summary>
[JsonSerializable(typeof(SlowTask))]
public sealed partial class SlowJsonContext : JsonSerializerContext;

// No VisibilityTimeoutSeconds: the 30 s default, which the tests override with AppRuntime:Queues:slow:VisibilityTimeout.
[ApplicationModule("slow")]
[TaskQueue<SlowTask>("slow")]
[WorkerPool("slow", Workers = 4, RetryDelayMilliseconds = 100)]
// The leadership tests (Ticks.cs): an exclusive source publishes ticks; with the queue on Redis one instance at a time leads it.
[TaskQueue<TickTask>("ticks", Capacity = 100_000)]
[WorkerPool("ticks", Workers = 2)]
public static partial class SlowModule;

/// <summary>Where the handlers record what they did.</summary>
[ConfigSection("SlowTest")]
public sealed partial class SlowSettings
{
    /// <summary>Redis key prefix of the records: LISTs <c>&lt;Record&gt;:started</c> and <c>&lt;Record&gt;:done</c>.</summary>
    public string Record { get; set; } = "slow-test";
}

/// <summary>
/// Records each delivery in Redis through its own connection, before and after the work: <c>started</c> and <c>done</c> get
/// "task-id pid attempt unix-ms" entries. The work is a wait of the task's <see cref="SlowTask.HandlerMs"/>.
/// </summary>
[TaskHandler("slow")]
public sealed class SlowHandler(SlowSettings settings) : ITaskHandler<SlowTask>
{
    private static readonly Lazy<Task<ConnectionMultiplexer>> Redis = new(() =>
        ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("SLOW_REDIS") ?? "127.0.0.1:6390"));

    public async ValueTask HandleAsync(SlowTask task, TaskContext context, CancellationToken cancellationToken)
    {
        var db = (await Redis.Value).GetDatabase();
        await db.ListRightPushAsync(settings.Record + ":started", Entry(context));
        await Task.Delay(task.HandlerMs, cancellationToken);
        await db.ListRightPushAsync(settings.Record + ":done", Entry(context));
    }

    private static string Entry(TaskContext context) => string.Create(CultureInfo.InvariantCulture,
        $"{context.TaskId} {Environment.ProcessId} {context.Attempt} {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
}
