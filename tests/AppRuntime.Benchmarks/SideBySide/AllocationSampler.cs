using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace AppRuntime.Benchmarks.SideBySide;

/// <summary>
/// Which types a row allocates: the runtime's own sampled allocation events (<c>GCAllocationTick</c>, one about every 100 KB
/// allocated, naming the type of the object that crossed the line), counted per type while <see cref="Enabled"/> is set. Each
/// sample stands for about 100 KB, so over a million tasks the shares are close to the real ones; the exact bytes per task stay
/// those of <c>GC.GetTotalAllocatedBytes</c>. Turned on by <c>--alloc-types N</c> (the N most sampled types per row).
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private const int AllocationTickEvent = 10;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);

    public bool Enabled { get; set; }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick is Verbose
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!Enabled || eventData.EventId != AllocationTickEvent || eventData.Payload is null)
            return;
        var names = eventData.PayloadNames!;
        var type = "?";
        long amount = 0;
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == "TypeName")
                type = eventData.Payload[i] as string ?? "?";
            else if (names[i] == "AllocationAmount64")
                amount = Convert.ToInt64(eventData.Payload[i], System.Globalization.CultureInfo.InvariantCulture);
        }
        _bytes.AddOrUpdate(type, amount, (_, old) => old + amount);
    }

    /// <summary>The <paramref name="top"/> types by sampled bytes, with their share of all sampled bytes, and clears the counts.</summary>
    public List<(string Type, double Share)> TakeTop(int top)
    {
        var all = _bytes.ToArray();
        _bytes.Clear();
        var total = Math.Max(1, all.Sum(kv => kv.Value));
        return [.. all.OrderByDescending(kv => kv.Value).Take(top).Select(kv => (kv.Key, kv.Value / (double)total))];
    }
}
