using AppRuntime.Redis.TestConsumer;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>Shared steps of the multi-process tests.</summary>
internal static class ProcessTestSupport
{
    public static TaskEnvelope<WorkItem> Task(int n) =>
        new($"task-{n}", WorkItems.TaskType, new WorkItem(n, $"item {n}"), DateTimeOffset.UtcNow);

    /// <summary>Publishes task-<paramref name="from"/> .. task-(<paramref name="to"/>-1), 64 at a time.</summary>
    public static async Task PublishRangeAsync(ITaskQueue<WorkItem> queue, int from, int to)
    {
        for (var start = from; start < to; start += 64)
        {
            var end = Math.Min(start + 64, to);
            await System.Threading.Tasks.Task.WhenAll(Enumerable.Range(start, end - start).Select(n => queue.PublishAsync(Task(n)).AsTask()));
        }
    }

    public static async Task<Dictionary<string, long>> ReadCountsAsync(IDatabase db, string key)
    {
        var entries = await db.HashGetAllAsync(key);
        return entries.ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
    }

    public static string Describe(IEnumerable<ConsumerProcess> processes) =>
        string.Join(Environment.NewLine, processes.Select(p => $"--- {p.Name} (exited: {p.HasExited}){Environment.NewLine}{p.Output}"));
}
