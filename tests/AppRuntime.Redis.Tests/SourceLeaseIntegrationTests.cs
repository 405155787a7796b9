using AppRuntime.Redis.TestConsumer;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Source leases (leadership) and fenced publishes on the Redis queue, and a dead owner's task leases ended at once. Judged by this
/// test's own reads of the queue's keys.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SourceLeaseIntegrationTests : RedisQueueFixture
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);

    private RedisKey Key(string suffix) => $"{Prefix}:{{work}}:{suffix}";

    [Fact]
    public async Task One_holder_at_a_time_a_new_holder_gets_a_larger_token_and_a_released_lease_is_taken_at_once()
    {
        var queue = NewQueue();
        var store = (ISourceLeaseStore)queue;

        var a = await store.TryAcquireSourceLeaseAsync("imap://h:143/u/INBOX", "instance-a", Lease);
        Assert.NotNull(a);
        Assert.Null(await store.TryAcquireSourceLeaseAsync("imap://h:143/u/INBOX", "instance-b", Lease));
        // Asking again while holding it renews it with the same token.
        var again = await store.TryAcquireSourceLeaseAsync("imap://h:143/u/INBOX", "instance-a", Lease);
        Assert.Equal(a!.Token, again!.Token);
        Assert.Equal("instance-a", (await store.GetSourceLeaseAsync("imap://h:143/u/INBOX"))!.Holder);

        // Renewed before it runs out: B still cannot have it after the first lease time.
        Time.Advance(TimeSpan.FromSeconds(6));
        var renewed = await store.RenewSourceLeaseAsync(a, Lease);
        Assert.Equal(Time.GetUtcNow() + Lease, renewed!.ExpiresAt);
        Time.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(await store.TryAcquireSourceLeaseAsync("imap://h:143/u/INBOX", "instance-b", Lease));

        // Not renewed: after it ran out, B takes it with a larger token and A can renew nothing.
        Time.Advance(TimeSpan.FromSeconds(5));
        var b = await store.TryAcquireSourceLeaseAsync("imap://h:143/u/INBOX", "instance-b", Lease);
        Assert.NotNull(b);
        Assert.True(b!.Token > a.Token, $"token {b.Token} after {a.Token}");
        Assert.Null(await store.RenewSourceLeaseAsync(a, Lease));
        // A's release of a lease it no longer holds changes nothing.
        await store.ReleaseSourceLeaseAsync(a);
        Assert.Equal("instance-b", (await store.GetSourceLeaseAsync("imap://h:143/u/INBOX"))!.Holder);

        await store.ReleaseSourceLeaseAsync(b);
        Assert.False(await Db.KeyExistsAsync(Key("lease:imap://h:143/u/INBOX")));
        var c = await store.TryAcquireSourceLeaseAsync("imap://h:143/u/INBOX", "instance-c", Lease);
        Assert.True(c!.Token > b.Token);
        // Another resource is another lease.
        Assert.NotNull(await store.TryAcquireSourceLeaseAsync("imap://h:143/u/Other", "instance-a", Lease));
    }

    [Fact]
    public async Task Pending_lookups_one_by_one_and_in_one_call_agree_ready_and_leased_are_pending_acked_dead_and_unknown_are_not()
    {
        var queue = NewQueue();
        var lookup = (IPendingTaskLookup)queue;
        for (var n = 1; n <= 4; n++)
            await queue.PublishAsync(Envelope(n));
        var leased = new List<TaskLease<WorkItem>>();
        for (var n = 1; n <= 3; n++)
            leased.Add(await ConsumeWithin(queue));
        Assert.True(await queue.AckAsync(leased.Single(l => l.Envelope.Id == "task-1")));
        Assert.True(await queue.DeadLetterAsync(leased.Single(l => l.Envelope.Id == "task-2"), "permanent"));
        // task-3 is leased, task-4 is ready, task-5 was never published.

        string[] ids = ["task-1", "task-2", "task-3", "task-4", "task-5"];
        bool[] expected = [false, false, true, true, false];
        var one = new bool[ids.Length];
        for (var i = 0; i < ids.Length; i++)
            one[i] = await lookup.IsPendingAsync(ids[i]);
        Assert.Equal(expected, one);
        Assert.Equal(expected, await lookup.ArePendingAsync(ids));
        Assert.Empty(await lookup.ArePendingAsync([]));
        // 2,000 ids in one call (the runner's sweep sends 500).
        var many = Enumerable.Range(0, 2000).Select(i => i % 2 == 0 ? "task-3" : $"missing-{i}").ToList();
        Assert.Equal(many.Select(id => id == "task-3"), await lookup.ArePendingAsync(many));
    }

    [Fact]
    public async Task A_publish_fenced_by_a_lost_lease_publishes_nothing_and_one_fenced_by_the_current_lease_publishes()
    {
        var queue = NewQueue();
        var store = (ISourceLeaseStore)queue;
        var fenced = (IFencedTaskQueue<WorkItem>)queue;
        var old = (await store.TryAcquireSourceLeaseAsync("source:orders", "instance-a", Lease))!;
        Assert.True(await fenced.PublishFencedAsync(Envelope(1), TimeSpan.Zero, old));

        // A is paused past its lease; B takes over.
        Time.Advance(Lease + TimeSpan.FromSeconds(1));
        var current = (await store.TryAcquireSourceLeaseAsync("source:orders", "instance-b", Lease))!;

        var lost = await Assert.ThrowsAsync<SourceLeaseLostException>(async () => await fenced.PublishFencedAsync(Envelope(2), TimeSpan.Zero, old));
        Assert.Equal(old, lost.Lease);
        await Assert.ThrowsAsync<SourceLeaseLostException>(async () => await fenced.PublishFencedAsync(Envelope(3), TimeSpan.FromMinutes(5), old));
        Assert.True(await fenced.PublishFencedAsync(Envelope(4), TimeSpan.Zero, current));

        // Seen in Redis: tasks 1 and 4 are there, 2 and 3 never were (no record, no deduplication key claimed).
        Assert.Equal(["task-1", "task-4"], (await Db.ListRangeAsync(Key("ready"))).Select(v => (string)v!).Order(StringComparer.Ordinal));
        Assert.False(await Db.KeyExistsAsync(Key("t:task-2")));
        Assert.False(await Db.KeyExistsAsync(Key("t:task-3")));
        Assert.False(await Db.KeyExistsAsync(Key("once:task-3")));
        // A released lease fences too: after B lets go, its own fence is refused.
        await store.ReleaseSourceLeaseAsync(current);
        await Assert.ThrowsAsync<SourceLeaseLostException>(async () => await fenced.PublishFencedAsync(Envelope(5), TimeSpan.Zero, current));
        Assert.Equal(2, await Db.ListLengthAsync(Key("ready")));
    }

    [Fact]
    public async Task A_dead_owners_task_leases_are_counted_by_owner_and_end_at_once_when_released()
    {
        var definition = new QueueDefinition("work", WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromMinutes(10) };
        var dead = NewQueue(definition);
        var alive = NewQueue(definition);
        for (var i = 1; i <= 4; i++)
            await dead.PublishAsync(Envelope(i));
        var held = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 3; i++)
            held.Add(await ConsumeWithin(dead));
        var own = await ConsumeWithin(alive);

        var owners = (ILeaseOwnerQueue)alive;
        var counts = await owners.CountLeasesByOwnerAsync();
        Assert.Equal(3, counts[((ILeaseOwnerQueue)dead).LeaseOwner]);
        Assert.Equal(1, counts[owners.LeaseOwner]);

        // The other instance ends the dead one's leases: the three tasks are delivered again now, not in ten minutes.
        Assert.Equal(3, await owners.ExpireLeasesOfAsync(((ILeaseOwnerQueue)dead).LeaseOwner));
        var redelivered = new List<TaskLease<WorkItem>>();
        for (var i = 0; i < 3; i++)
            redelivered.Add(await ConsumeWithin(alive));
        Assert.Equal(held.Select(l => l.Envelope.Id).Order(StringComparer.Ordinal), redelivered.Select(l => l.Envelope.Id).Order(StringComparer.Ordinal));
        Assert.All(redelivered, l => Assert.Equal(2, l.Envelope.Attempt));
        // The dead owner's settles find their leases lost; the live owner's own lease was never touched.
        Assert.False(await dead.AckAsync(held[0]));
        Assert.True(await alive.AckAsync(own));
        Assert.Equal(3, (await owners.CountLeasesByOwnerAsync())[owners.LeaseOwner]);
    }
}
