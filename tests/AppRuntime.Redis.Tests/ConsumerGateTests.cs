using System.Collections.Concurrent;
using AppRuntime.Internal;
using AppRuntime.TestSupport;

namespace AppRuntime.Redis.Tests;

/// <summary>The local buffer of leased tasks (prefetch): what it gives back when tasks wait too long.</summary>
public sealed class ConsumerGateTests
{
    [Fact]
    public async Task When_the_oldest_buffered_task_waited_the_hold_time_the_whole_buffer_is_given_back_in_one_list_in_its_order()
    {
        // Two fetches 300 ms apart (well within the 3 s hold, even on a loaded machine) buffer four tasks; nobody takes them. Given back in two lists, the later list would come back in
        // front of the earlier one in the ready list (each release goes to the consuming end): one list keeps them in order.
        var given = new ConcurrentQueue<List<string>>();
        using var gate = new ConsumerGate<string>(TimeSpan.FromSeconds(3), given.Enqueue);
        Assert.Null(gate.Deliver(["a", "b"], 0, gate.Reserve(0, 0)));
        await Task.Delay(300);
        Assert.Null(gate.Deliver(["c", "d"], 0, gate.Reserve(0, 0)));

        await Eventually.TrueAsync(() => !given.IsEmpty, "the buffer is given back", TimeSpan.FromSeconds(10));
        Assert.True(given.TryPeek(out var first));
        Assert.Equal(["a", "b", "c", "d"], first);
        Assert.False(gate.TryTakeBuffered(out _));
    }
}
