using System.Globalization;
using System.Text.Json.Serialization;
using StackExchange.Redis;

namespace AppRuntime.Redis.TestApp;

/// <summary>A tick: which process published it, its sequence number there, and the publisher's clock right before the publish.</summary>
public sealed record TickTask(long Seq, int Pid, long AtMs);

/// <summary>The JSON metadata of <see cref="TickTask"/>.</summary>
[JsonSerializable(typeof(TickTask))]
public sealed partial class TickJsonContext : JsonSerializerContext;

/// <summary>The tick source's settings.</summary>
[ConfigSection("TickTest")]
public sealed partial class TickSettings
{
    /// <summary>False (the default): the source ends at once and publishes nothing.</summary>
    public bool Enabled { get; set; }

    /// <summary>The pause between two ticks.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMilliseconds(20);
}

/// <summary>
/// Publishes a tick every <see cref="TickSettings.Interval"/> while this instance leads it (<c>Exclusive = true</c>). The tick
/// carries the publisher's process id and clock, stamped right before the publish, so the tests can tell who published what when.
/// </summary>
[TaskSource("ticks", Name = "ticks", Exclusive = true)]
public sealed class TickSource(TickSettings settings) : ITaskSource<TickTask>
{
    private long _seq;

    public async Task RunAsync(ITaskSourceContext<TickTask> context, CancellationToken cancellationToken)
    {
        if (!settings.Enabled)
            return;
        while (!cancellationToken.IsCancellationRequested)
        {
            var seq = Interlocked.Increment(ref _seq);
            var tick = new TickTask(seq, Environment.ProcessId, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await context.PublishAsync(tick, new TaskPublishOptions { Id = string.Create(CultureInfo.InvariantCulture, $"tick-{tick.Pid}-{seq}") }, cancellationToken);
            await Task.Delay(settings.Interval, cancellationToken);
        }
    }
}

/// <summary>Records every tick it handles in the Redis LIST <c>&lt;SlowTest:Record&gt;:ticks</c>: "publisher-pid seq at-ms handler-pid".</summary>
[TaskHandler("ticks")]
public sealed class TickHandler(SlowSettings settings) : ITaskHandler<TickTask>
{
    private static readonly Lazy<Task<ConnectionMultiplexer>> Redis = new(() =>
        ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("SLOW_REDIS") ?? "127.0.0.1:6390"));

    public async ValueTask HandleAsync(TickTask task, TaskContext context, CancellationToken cancellationToken)
    {
        var db = (await Redis.Value).GetDatabase();
        await db.ListRightPushAsync(settings.Record + ":ticks",
            string.Create(CultureInfo.InvariantCulture, $"{task.Pid} {task.Seq} {task.AtMs} {Environment.ProcessId}"));
    }
}
