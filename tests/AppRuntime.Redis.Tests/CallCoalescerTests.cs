using AppRuntime.Internal;
using AppRuntime.TestSupport;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// The group commit behind coalesced publishes, acks and renewals: a caller alone makes its own call; callers that arrive
/// while a call is in flight go together in the next batch call, each getting its own result. Driven with calls the test
/// holds open, so the batching is deterministic.
/// </summary>
public sealed class CallCoalescerTests
{
    private readonly List<(List<int> Items, TaskCompletionSource<int[]> Reply)> _calls = [];

    private CallCoalescer<int, int> NewCoalescer(int maxBatch = 256) => new(items =>
    {
        var reply = new TaskCompletionSource<int[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_calls)
            _calls.Add(([.. items], reply));
        return reply.Task;
    }, maxBatch);

    private List<int> CallItems(int index)
    {
        lock (_calls)
            return _calls[index].Items;
    }

    private async Task AwaitCallsAsync(int count)
    {
        await Eventually.TrueAsync(() =>
        {
            lock (_calls)
                return _calls.Count >= count;
        }, $"{count} batch call(s) were made", TimeSpan.FromSeconds(10));
    }

    private void Reply(int index, Func<List<int>, int[]> results)
    {
        (List<int> Items, TaskCompletionSource<int[]> Reply) call;
        lock (_calls)
            call = _calls[index];
        call.Reply.SetResult(results(call.Items));
    }

    /// <summary>Makes a caller's own call in flight, queues <paramref name="items"/> behind it, ends the own call and waits for the batch call.</summary>
    private async Task<List<Task<int>>> BatchBehindSoloAsync(CallCoalescer<int, int> coalescer, params int[] items)
    {
        Assert.False(coalescer.TryJoin(0, out _));
        var joined = new List<Task<int>>();
        foreach (var item in items)
        {
            Assert.True(coalescer.TryJoin(item, out var result));
            joined.Add(result);
        }
        coalescer.EndSolo();
        await AwaitCallsAsync(1);
        return joined;
    }

    [Fact]
    public void A_caller_that_finds_nothing_in_flight_makes_its_own_call()
    {
        var coalescer = NewCoalescer();

        Assert.False(coalescer.TryJoin(1, out _));
        coalescer.EndSolo();
        Assert.False(coalescer.TryJoin(2, out _));
        coalescer.EndSolo();

        Assert.Empty(_calls);
        Assert.Equal(0, coalescer.Batches);
    }

    [Fact]
    public async Task Callers_arriving_while_a_call_is_in_flight_go_together_in_the_next_call_and_each_gets_its_own_result()
    {
        var coalescer = NewCoalescer();
        Assert.False(coalescer.TryJoin(0, out _));          // in flight: the caller's own call
        var joined = new List<Task<int>>();
        for (var i = 1; i <= 5; i++)
        {
            Assert.True(coalescer.TryJoin(i, out var result));
            joined.Add(result);
        }
        Assert.Empty(_calls);
        Assert.All(joined, t => Assert.False(t.IsCompleted));

        coalescer.EndSolo();
        await AwaitCallsAsync(1);
        Assert.Equal([1, 2, 3, 4, 5], CallItems(0));
        // While that batch is in flight, the next one forms.
        Assert.True(coalescer.TryJoin(6, out var late));
        Reply(0, items => [.. items.Select(i => i * 10)]);

        Assert.Equal(new[] { 10, 20, 30, 40, 50 }, await Task.WhenAll(joined));
        await AwaitCallsAsync(2);
        Assert.Equal([6], CallItems(1));
        Reply(1, items => [.. items.Select(i => i * 10)]);
        Assert.Equal(60, await late);
        Assert.Equal((2L, 6L), (coalescer.Batches, coalescer.BatchedItems));

        // Idle again once the last batch has ended (its callers may see their results a moment before the coalescer marks
        // itself idle): the next caller makes its own call. A caller that joined in that moment would start a batch call this
        // test never answers, so the test waits for the state instead of probing with TryJoin.
        await Eventually.TrueAsync(() => coalescer.IsIdle, "the coalescer is idle once the last batch ended", TimeSpan.FromSeconds(10));
        Assert.False(coalescer.TryJoin(7, out _));
        coalescer.EndSolo();
        Assert.True(coalescer.IsIdle);
        Assert.Equal(2, _calls.Count);
    }

    [Fact]
    public async Task A_batch_call_that_throws_fails_every_item_in_it_with_that_exception_and_the_next_batch_still_runs()
    {
        var coalescer = NewCoalescer();
        var joined = await BatchBehindSoloAsync(coalescer, 1, 2);
        var (first, second) = (joined[0], joined[1]);
        Assert.True(coalescer.TryJoin(3, out var third));

        var failure = new InvalidOperationException("connection lost");
        lock (_calls)
            _calls[0].Reply.SetException(failure);

        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => first));
        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => second));
        await AwaitCallsAsync(2);
        Reply(1, items => [.. items]);
        Assert.Equal(3, await third);
    }

    [Fact]
    public async Task A_queue_longer_than_the_batch_limit_goes_in_several_calls_in_arrival_order()
    {
        var coalescer = NewCoalescer(maxBatch: 3);
        Assert.False(coalescer.TryJoin(0, out _));
        var joined = new List<Task<int>>();
        for (var i = 1; i <= 7; i++)
        {
            Assert.True(coalescer.TryJoin(i, out var result));
            joined.Add(result);
        }
        coalescer.EndSolo();

        for (var call = 0; call < 3; call++)
        {
            await AwaitCallsAsync(call + 1);
            Reply(call, items => [.. items]);
        }

        Assert.Equal([1, 2, 3], CallItems(0));
        Assert.Equal([4, 5, 6], CallItems(1));
        Assert.Equal([7], CallItems(2));
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6, 7 }, await Task.WhenAll(joined));
    }

    [Fact]
    public async Task A_batch_call_that_answers_the_wrong_number_of_results_fails_its_items_instead_of_misrouting_them()
    {
        var coalescer = NewCoalescer();
        var joined = await BatchBehindSoloAsync(coalescer, 1, 2);
        var (first, second) = (joined[0], joined[1]);

        Reply(0, _ => [1]);

        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        await Assert.ThrowsAsync<InvalidOperationException>(() => second);
    }
}
