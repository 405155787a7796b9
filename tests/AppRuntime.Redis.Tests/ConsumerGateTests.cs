using System.Collections.Concurrent;
using AppRuntime.Internal;
using AppRuntime.TestSupport;

namespace AppRuntime.Redis.Tests;

/// <summary>The local buffer of leased tasks (prefetch): what it gives back when tasks wait too long, and how consumers wait for a read-ahead.</summary>
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

    [Fact]
    public void A_publish_may_lease_the_buffer_room_only_to_consumers_at_work_and_not_again_after_a_refusal_until_the_queue_is_seen_empty()
    {
        using var gate = new ConsumerGate<string>(TimeSpan.FromMinutes(1), _ => { });
        Assert.Equal((0, 0), gate.ReserveHandOff(64, 8));   // no consumer ever asked: nothing to hold for nobody

        Assert.Equal(ConsumerGate<string>.Next.Fetch, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out _));
        var reserved = gate.ReserveHandOff(64, 8);
        Assert.Equal((0, 8), reserved);
        Assert.Equal((0, 0), gate.ReserveHandOff(64, 8));   // one at a time
        gate.Unreserve(reserved);

        reserved = gate.ReserveHandOff(64, 8);
        gate.Unreserve(reserved, handOffRefused: true);   // the script found older tasks ready
        Assert.Equal((0, 0), gate.ReserveHandOff(64, 8));
        gate.SetKnownEmpty(false);
        Assert.Equal((0, 0), gate.ReserveHandOff(64, 8));
        gate.SetKnownEmpty(true);   // a reply left the ready list empty
        reserved = gate.ReserveHandOff(64, 8);
        Assert.Equal((0, 8), reserved);
        gate.Unreserve(reserved);
    }

    [Fact]
    public async Task A_consumer_that_stops_waiting_has_left_and_the_buffer_gets_no_hand_off_until_one_takes_again()
    {
        using var gate = new ConsumerGate<string>(TimeSpan.FromMinutes(1), _ => { });
        Assert.Equal(ConsumerGate<string>.Next.Fetch, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out _));
        gate.SetKnownEmpty(true);
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out var waiter));
        using var pause = new CancellationTokenSource();
        var waiting = waiter!.WaitAsync(pause.Token).AsTask();

        await pause.CancelAsync();   // the pool is paused: its consumers stop waiting
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        Assert.Equal((0, 0), gate.ReserveHandOff(64, 8));
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out var again));   // back at work
        Assert.NotNull(again);
        Assert.Equal((1, 8), gate.ReserveHandOff(64, 8));
        gate.WakeAll();
    }

    [Fact]
    public async Task A_consumer_parked_for_a_read_ahead_gets_its_tasks_in_order_and_one_that_gets_none_is_woken_to_fetch()
    {
        using var gate = new ConsumerGate<string>(TimeSpan.FromMinutes(1), _ => { });
        Assert.Null(gate.Deliver(["a", "b"], 0, gate.Reserve(0, 4)));   // a fetch buffered two of a prefetch of 4
        Assert.Equal(ConsumerGate<string>.Next.Item, gate.TryTake(false, TimeSpan.FromMinutes(1), out var item, out _));
        Assert.Equal("a", item);
        Assert.Equal(3, gate.ReserveRefill(4, 64));   // one left, half of 4 or less: read ahead the room up to 4

        Assert.Equal(ConsumerGate<string>.Next.Item, gate.TryTake(false, TimeSpan.FromMinutes(1), out item, out _));
        Assert.Equal("b", item);
        // The buffer is empty and the read-ahead under way: both consumers park for it instead of fetching on their own.
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out var first));
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(true, TimeSpan.FromMinutes(1), out _, out var second));
        var firstGets = first!.WaitAsync(CancellationToken.None).AsTask();
        var secondGets = second!.WaitAsync(CancellationToken.None).AsTask();

        Assert.Null(gate.Deliver(["c"], 0, (0, 3), refill: true));   // the read-ahead brought one task

        Assert.Equal("c", await firstGets.WaitAsync(TimeSpan.FromSeconds(10)));   // the oldest waiter gets it
        Assert.Null(await secondGets.WaitAsync(TimeSpan.FromSeconds(10)));        // the other is woken to fetch, not left parked
        Assert.Equal(ConsumerGate<string>.Next.Fetch, gate.TryTake(true, TimeSpan.FromMinutes(1), out _, out _));
    }

    [Fact]
    public async Task A_notification_during_a_read_ahead_that_then_finds_the_queue_empty_still_wakes_the_parked_consumer()
    {
        // The race of a read-ahead whose script empties the ready list while another instance publishes: the 'r' arrives before
        // the read-ahead's reply, which then says "empty". The consumer parked for the read-ahead must still look.
        using var gate = new ConsumerGate<string>(TimeSpan.FromMinutes(1), _ => { });
        Assert.Null(gate.Deliver(["a"], 0, gate.Reserve(0, 2)));
        Assert.Equal(ConsumerGate<string>.Next.Item, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out _));
        Assert.Equal(2, gate.ReserveRefill(2, 64));
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out var waiter));
        var woken = waiter!.WaitAsync(CancellationToken.None).AsTask();

        gate.Signal();   // the notification: the parked consumer looks again, finds the read-ahead still under way, parks again
        Assert.Null(await woken.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(true, TimeSpan.FromMinutes(1), out _, out var again));
        var wokenAgain = again!.WaitAsync(CancellationToken.None).AsTask();

        gate.SetKnownEmpty(true);   // the read-ahead's reply: nothing, and the ready list looked empty
        gate.EndRefill((0, 2));

        Assert.Null(await wokenAgain.WaitAsync(TimeSpan.FromSeconds(10)));   // woken to fetch: the notification was not lost
        Assert.Equal(ConsumerGate<string>.Next.Fetch, gate.TryTake(true, TimeSpan.FromMinutes(1), out _, out _));
    }

    [Fact]
    public async Task When_parked_consumers_waits_run_out_only_the_longest_parked_is_woken_and_its_fetch_serves_the_others()
    {
        using var gate = new ConsumerGate<string>(TimeSpan.FromMinutes(1), _ => { });
        gate.SetKnownEmpty(true);
        var waits = new List<Task<string?>>();
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromSeconds(1), out _, out var waiter));
            waits.Add(waiter!.WaitAsync(CancellationToken.None).AsTask());
        }

        var first = await Task.WhenAny(waits).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Same(waits[0], first);   // the longest parked
        Assert.Null(await first);
        // The three others wait again, for a whole second each (checked well within it; each on its own used to wake here too).
        Assert.Equal(3, gate.Parked);
        Assert.All(waits.Skip(1), w => Assert.False(w.IsCompleted));

        // The woken consumer fetches for itself and the three parked ones, and each gets its task from that one reply.
        var reserved = gate.Reserve(63, 0);
        Assert.Equal((3, 0), reserved);
        Assert.Null(gate.Deliver(["a", "b", "c", "d"], 1, reserved));
        Assert.Equal<string?[]>(["b", "c", "d"], await Task.WhenAll(waits.Skip(1)).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_wait_aimed_at_a_due_time_is_not_put_off_by_an_earlier_look_and_a_look_given_up_is_passed_on()
    {
        using var gate = new ConsumerGate<string>(TimeSpan.FromMinutes(1), _ => { });
        gate.SetKnownEmpty(true);
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMilliseconds(300), out _, out var polling));
        var polled = polling!.WaitAsync(CancellationToken.None).AsTask();
        // Due in 400 ms (a delayed task): within half its wait of the first look, but not due then.
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMilliseconds(400), out _, out var due, dueBound: true));
        var dueWoken = due!.WaitAsync(CancellationToken.None).AsTask();
        // A plain poll of 500 ms: within half its wait of the first look, so that look stands in for it (it waits until about 800 ms).
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMilliseconds(500), out _, out var plain));
        var plainWoken = plain!.WaitAsync(CancellationToken.None).AsTask();

        Assert.Null(await polled.WaitAsync(TimeSpan.FromSeconds(10)));
        // The due-time wait ends at its own time (about 100 ms after the first look), not a whole wait (400 ms) after it.
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(await dueWoken.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(started.Elapsed < TimeSpan.FromMilliseconds(350), $"the due-time wait ended {started.Elapsed.TotalMilliseconds:0} ms after the first look");

        // The woken consumer leaves without looking (cancelled): it passes the look on to the one still parked.
        Assert.False(plainWoken.IsCompleted);
        gate.PassOnLook();
        Assert.Null(await plainWoken.WaitAsync(TimeSpan.FromSeconds(10)));
        gate.PassOnLook();   // nobody parked: no permit is left behind
        Assert.Equal(ConsumerGate<string>.Next.Parked, gate.TryTake(false, TimeSpan.FromMinutes(1), out _, out var last));
        gate.WakeAll();
        Assert.Null(await last!.WaitAsync(CancellationToken.None));
    }
}
