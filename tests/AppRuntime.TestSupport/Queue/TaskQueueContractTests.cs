using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Xunit;

namespace AppRuntime.TestSupport;

/// <summary>
/// The behaviour every <see cref="ITaskQueue{T}"/> backend must show. A backend's test project subclasses this class and
/// supplies the queue factory and the clock; every [Fact] here then runs against that backend.
/// </summary>
/// <remarks>
/// <para>The suite runs on a fake clock (in-memory: <c>FakeTimeProvider</c>) as well as on real time (Redis): time moves only
/// through <see cref="AdvanceTimeAsync"/>, waiting for a delivery is bounded by a real-time <see cref="DeliveryDeadline"/>,
/// and "nothing is deliverable" checks use a short real-time window (<see cref="NegativeCheckWindow"/>); a backend whose
/// operations complete synchronously on a fake clock sets that window to zero and gets exact, instant checks.</para>
/// <para>Every test creates its queues with a unique name (<see cref="QueueNamePrefix"/>, the test name, a random suffix), so
/// a shared server keeps tests apart. Queues are disposed after each test when they implement
/// <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>.</para>
/// </remarks>
public abstract class TaskQueueContractTests : IAsyncLifetime
{
    private readonly List<ITaskQueue<ContractTask>> _queues = [];
    private int _taskCounter;

    /// <summary>Creates the backend's queue for <paramref name="definition"/>.</summary>
    protected abstract ValueTask<ITaskQueue<ContractTask>> CreateQueueAsync(QueueDefinition definition);

    /// <summary>Moves the backend's clock forward: a fake clock advances, a real-time backend waits.</summary>
    protected abstract ValueTask AdvanceTimeAsync(TimeSpan by);

    /// <summary>The clock the backend uses (for envelope times and lease expectations).</summary>
    protected abstract TimeProvider Time { get; }

    /// <summary>The visibility timeout of the suite's queues. Keep it short; a slow real-time backend may raise it.</summary>
    protected virtual TimeSpan VisibilityTimeout => TimeSpan.FromSeconds(2);

    /// <summary>Retry delay and not-before offset used by the delay tests.</summary>
    protected virtual TimeSpan ShortDelay => TimeSpan.FromSeconds(1);

    /// <summary>How far past a due time the suite advances the clock before expecting the effect.</summary>
    protected virtual TimeSpan ExpiryMargin => TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long (real time) a negative check watches for an unwanted delivery or completion. Zero means "check at once": the
    /// backend completes every available operation synchronously, so a still-pending operation proves the point.
    /// </summary>
    protected virtual TimeSpan NegativeCheckWindow => TimeSpan.FromMilliseconds(300);

    /// <summary>The longest (real time) the suite waits for something that must happen.</summary>
    protected virtual TimeSpan DeliveryDeadline => TimeSpan.FromSeconds(15);

    /// <summary>Prefix of the queue names the suite creates.</summary>
    protected virtual string QueueNamePrefix => "contract";

    /// <inheritdoc />
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            if (queue is IAsyncDisposable asyncDisposable)
                await asyncDisposable.DisposeAsync();
            else if (queue is IDisposable disposable)
                disposable.Dispose();
        }
        _queues.Clear();
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Publish and consume

    [Fact]
    public async Task Publish_then_consume_delivers_the_envelope_with_every_field_preserved()
    {
        var queue = await NewQueueAsync(Define());
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TaskHeaders.TraceParent] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            [TaskHeaders.TraceState] = "vendor=value",
            ["custom-header"] = "spaces, commas; and ünïcode",
        };
        var published = NewTask(headers: headers);
        await queue.PublishAsync(published);

        var before = Time.GetUtcNow();
        var lease = await ConsumeOrFailAsync(queue);
        var after = Time.GetUtcNow();

        var delivered = lease.Envelope;
        Assert.Equal(published.Id, delivered.Id);
        Assert.Equal(published.TaskType, delivered.TaskType);
        Assert.Equal(published.Payload, delivered.Payload);
        Assert.Equal(published.EnqueuedAt, delivered.EnqueuedAt);
        Assert.Equal(Sorted(headers), Sorted(delivered.Headers));
        Assert.Equal(1, delivered.Attempt);
        Assert.Null(delivered.LastError);
        Assert.Equal(queue.Name, lease.Queue);
        Assert.False(string.IsNullOrEmpty(lease.Token));
        var tolerance = TimeSpan.FromSeconds(1);
        Assert.InRange(lease.LeasedUntil, before + VisibilityTimeout - tolerance, after + VisibilityTimeout + tolerance);
    }

    [Fact]
    public async Task Headers_travel_with_the_task_across_redeliveries()
    {
        var queue = await NewQueueAsync(Define());
        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [TaskHeaders.TraceParent] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            [TaskHeaders.Source] = "contract-source",
        };
        await queue.PublishAsync(NewTask(headers: headers));

        var first = await ConsumeOrFailAsync(queue);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first, error: "transient"));
        var second = await ConsumeOrFailAsync(queue);

        Assert.Equal(2, second.Envelope.Attempt);
        Assert.Equal(Sorted(headers), Sorted(second.Envelope.Headers));
    }

    [Fact]
    public async Task Ready_tasks_are_delivered_in_publish_order()
    {
        var queue = await NewQueueAsync(Define());
        var published = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var task = NewTask();
            published.Add(task.Id);
            await queue.PublishAsync(task);
        }

        var delivered = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var lease = await ConsumeOrFailAsync(queue);
            delivered.Add(lease.Envelope.Id);
            Assert.True(await queue.AckAsync(lease));
        }

        Assert.Equal(published, delivered);
    }

    [Fact]
    public async Task Consume_waits_for_a_task_published_later()
    {
        var queue = await NewQueueAsync(Define());
        var pending = queue.ConsumeAsync().AsTask();
        await AssertStillPendingAsync(pending, "an empty queue has nothing to deliver");

        var task = NewTask();
        await queue.PublishAsync(task);

        var lease = await pending.WaitAsync(DeliveryDeadline);
        Assert.Equal(task.Id, lease.Envelope.Id);
        Assert.Equal(1, lease.Envelope.Attempt);
    }

    [Fact]
    public async Task Consume_throws_OperationCanceledException_when_its_token_fires_and_loses_no_task()
    {
        var queue = await NewQueueAsync(Define());
        using var cts = new CancellationTokenSource();
        var pending = queue.ConsumeAsync(cts.Token).AsTask();
        await AssertStillPendingAsync(pending, "an empty queue has nothing to deliver");

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(DeliveryDeadline));

        var task = NewTask();
        await queue.PublishAsync(task);
        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, lease.Envelope.Id);
    }

    [Fact]
    public async Task Consume_with_a_cancelled_token_throws_and_leaves_the_task_in_the_queue()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();
        await queue.PublishAsync(task);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.ConsumeAsync(new CancellationToken(canceled: true)));

        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, lease.Envelope.Id);
        Assert.Equal(1, lease.Envelope.Attempt);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Ack and leases

    [Fact]
    public async Task Ack_settles_the_task_so_it_is_never_delivered_again()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);

        Assert.True(await queue.AckAsync(lease));

        var stats = await queue.GetStatsAsync();
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(0, stats.Depth);
        Assert.Equal(1, stats.Acked);
        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);
        await AssertNothingDeliverableAsync(queue, "an acked task is gone even after its lease would have expired");
    }

    [Fact]
    public async Task Acking_the_same_lease_twice_returns_false_the_second_time()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);

        Assert.True(await queue.AckAsync(lease));
        Assert.False(await queue.AckAsync(lease));
        Assert.Equal(1, (await queue.GetStatsAsync()).Acked);
    }

    [Fact]
    public async Task Lease_that_has_not_expired_keeps_the_task_from_other_consumers()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);

        await AdvanceTimeAsync(VisibilityTimeout / 2);

        await AssertNothingDeliverableAsync(queue, "the task is leased for the visibility timeout");
        Assert.True(await queue.AckAsync(lease));
    }

    [Fact]
    public async Task Expired_lease_is_redelivered_with_the_next_attempt()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();
        await queue.PublishAsync(task);
        var first = await ConsumeOrFailAsync(queue);

        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);

        var second = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, second.Envelope.Id);
        Assert.Equal(task.Payload, second.Envelope.Payload);
        Assert.Equal(2, second.Envelope.Attempt);
        Assert.NotEqual(first.Token, second.Token);
    }

    [Fact]
    public async Task Attempt_counts_every_delivery_whether_nacked_or_expired()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 10));
        await queue.PublishAsync(NewTask());

        var first = await ConsumeOrFailAsync(queue);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first));
        var second = await ConsumeOrFailAsync(queue);
        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);
        var third = await ConsumeOrFailAsync(queue);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(third));
        var fourth = await ConsumeOrFailAsync(queue);

        Assert.Equal([1, 2, 3, 4], new[] { first, second, third, fourth }.Select(l => l.Envelope.Attempt));
    }

    [Fact]
    public async Task Ack_of_an_expired_lease_returns_false_and_keeps_the_redelivered_copy()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var stale = await ConsumeOrFailAsync(queue);
        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);
        var current = await ConsumeOrFailAsync(queue);

        Assert.False(await queue.AckAsync(stale));

        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.InFlight);
        Assert.Equal(0, stats.Acked);
        Assert.True(await queue.AckAsync(current));
        stats = await queue.GetStatsAsync();
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(1, stats.Acked);
    }

    [Fact]
    public async Task Settling_a_lost_lease_in_any_way_changes_nothing()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var stale = await ConsumeOrFailAsync(queue);
        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);
        var current = await ConsumeOrFailAsync(queue);

        Assert.Equal(NackResult.LeaseLost, await queue.NackAsync(stale, error: "stale"));
        Assert.False(await queue.DeadLetterAsync(stale, "stale"));
        Assert.False(await queue.ReleaseAsync(stale));
        Assert.False(await queue.RenewLeaseAsync(stale));

        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.InFlight);
        Assert.Equal(0, stats.Depth);
        Assert.Equal(0, stats.Delayed);
        Assert.Equal(0, stats.DeadLettered);
        Assert.Equal(0, stats.Nacked);
        await AssertNothingDeliverableAsync(queue, "the only copy is leased by the current consumer");
        Assert.True(await queue.AckAsync(current));
    }

    [Fact]
    public async Task Renew_extends_the_lease_so_the_task_is_not_redelivered()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);
        var firstUntil = lease.LeasedUntil;

        await AdvanceTimeAsync(VisibilityTimeout * 3 / 4);
        var beforeRenew = Time.GetUtcNow();
        Assert.True(await queue.RenewLeaseAsync(lease));
        Assert.True(lease.LeasedUntil > firstUntil, "renewing moves LeasedUntil forward");
        Assert.InRange(lease.LeasedUntil, beforeRenew + VisibilityTimeout - TimeSpan.FromSeconds(1), Time.GetUtcNow() + VisibilityTimeout + TimeSpan.FromSeconds(1));

        // Now past the original expiry, still before the renewed one.
        await AdvanceTimeAsync(VisibilityTimeout / 2);
        await AssertNothingDeliverableAsync(queue, "the renewed lease has not expired");
        Assert.True(await queue.AckAsync(lease), "the renewed lease is still held");
    }

    [Fact]
    public async Task Renewed_lease_expires_one_visibility_timeout_after_the_renewal()
    {
        var queue = await NewQueueAsync(Define());
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);
        await AdvanceTimeAsync(VisibilityTimeout / 2);
        Assert.True(await queue.RenewLeaseAsync(lease));

        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);

        var again = await ConsumeOrFailAsync(queue);
        Assert.Equal(lease.Envelope.Id, again.Envelope.Id);
        Assert.Equal(2, again.Envelope.Attempt);
        Assert.False(await queue.AckAsync(lease));
    }

    [Fact]
    public async Task Expired_lease_at_max_attempts_is_dead_lettered_instead_of_redelivered()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        var task = NewTask();
        await queue.PublishAsync(task);
        var lease = await ConsumeOrFailAsync(queue);

        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);

        await WaitForStatsAsync(queue, s => s.DeadLettered == 1, "the expired lease of a task at max attempts is dead-lettered");
        await AssertNothingDeliverableAsync(queue, "a dead-lettered task is not redelivered");
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal(task.Id, dead.Id);
        Assert.Equal(1, dead.Attempts);
        Assert.Equal("lease expired after 1 attempts", dead.Reason);
        Assert.False(await queue.AckAsync(lease));
        var stats = await queue.GetStatsAsync();
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(0, stats.Depth);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Nack, dead letter, release

    [Fact]
    public async Task Nack_without_delay_redelivers_at_once_with_the_error_as_LastError()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();
        await queue.PublishAsync(task);
        var first = await ConsumeOrFailAsync(queue);

        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first, error: "boom"));

        var second = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, second.Envelope.Id);
        Assert.Equal(2, second.Envelope.Attempt);
        Assert.Equal("boom", second.Envelope.LastError);
        Assert.Equal(1, (await queue.GetStatsAsync()).Nacked);
    }

    [Fact]
    public async Task Nack_with_delay_hides_the_task_until_the_delay_has_passed()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();
        await queue.PublishAsync(task);
        var first = await ConsumeOrFailAsync(queue);

        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first, ShortDelay, "later"));

        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.Delayed);
        Assert.Equal(0, stats.Depth);
        Assert.Equal(0, stats.InFlight);
        await AssertNothingDeliverableAsync(queue, "the retry delay has not passed");

        await AdvanceTimeAsync(ShortDelay + ExpiryMargin);

        var second = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, second.Envelope.Id);
        Assert.Equal(2, second.Envelope.Attempt);
        Assert.Equal("later", second.Envelope.LastError);
    }

    [Fact]
    public async Task Nack_at_max_attempts_dead_letters_the_task_with_the_error()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 2));
        var task = NewTask();
        await queue.PublishAsync(task);
        var first = await ConsumeOrFailAsync(queue);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first, error: "first failure"));
        var second = await ConsumeOrFailAsync(queue);

        Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(second, error: "second failure"));

        await AssertNothingDeliverableAsync(queue, "a dead-lettered task is not redelivered");
        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.DeadLettered);
        Assert.Equal(2, stats.Nacked);
        Assert.Equal(0, stats.InFlight);
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal(task.Id, dead.Id);
        Assert.Equal(2, dead.Attempts);
        Assert.Equal("second failure", dead.Reason);
    }

    [Fact]
    public async Task Nack_at_max_attempts_without_an_error_gives_a_default_reason()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);

        Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(lease, ShortDelay));

        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal("failed after 1 attempts", dead.Reason);
        Assert.Equal(0, (await queue.GetStatsAsync()).Delayed);
    }

    [Fact]
    public async Task DeadLetter_moves_the_task_to_the_dead_letters_at_once()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 5));
        var task = NewTask();
        await queue.PublishAsync(task);
        var lease = await ConsumeOrFailAsync(queue);

        Assert.True(await queue.DeadLetterAsync(lease, "poison message"));

        await AssertNothingDeliverableAsync(queue, "a dead-lettered task is not redelivered");
        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.DeadLettered);
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(0, stats.Nacked);
        var dead = Assert.Single(await queue.GetDeadLettersAsync());
        Assert.Equal(task.Id, dead.Id);
        Assert.Equal(1, dead.Attempts);
        Assert.Equal("poison message", dead.Reason);
        Assert.False(await queue.AckAsync(lease));
    }

    [Fact]
    public async Task Release_gives_the_task_back_at_once_without_counting_the_attempt()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 2));
        var task = NewTask();
        await queue.PublishAsync(task);

        var first = await ConsumeOrFailAsync(queue);
        Assert.True(await queue.ReleaseAsync(first));
        var second = await ConsumeOrFailAsync(queue);
        Assert.True(await queue.ReleaseAsync(second));
        var third = await ConsumeOrFailAsync(queue);

        Assert.Equal(task.Id, third.Envelope.Id);
        Assert.Equal(1, first.Envelope.Attempt);
        Assert.Equal(1, second.Envelope.Attempt);
        Assert.Equal(1, third.Envelope.Attempt);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(third));
        Assert.Equal(2, (await ConsumeOrFailAsync(queue)).Envelope.Attempt);
        Assert.Equal(0, (await queue.GetStatsAsync()).DeadLettered);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Delayed publish

    [Fact]
    public async Task Task_published_with_a_future_NotBefore_is_delivered_only_from_then()
    {
        var queue = await NewQueueAsync(Define());
        var notBefore = Time.GetUtcNow() + ShortDelay;
        var task = NewTask() with { NotBefore = notBefore };
        await queue.PublishAsync(task);

        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.Delayed);
        Assert.Equal(0, stats.Depth);
        await AssertNothingDeliverableAsync(queue, "the task's NotBefore is in the future");

        await AdvanceTimeAsync(ShortDelay + ExpiryMargin);

        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, lease.Envelope.Id);
        Assert.Equal(1, lease.Envelope.Attempt);
        Assert.Equal(notBefore, lease.Envelope.NotBefore);
    }

    [Fact]
    public async Task Task_published_with_a_past_NotBefore_is_delivered_at_once()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask() with { NotBefore = Time.GetUtcNow() - TimeSpan.FromMinutes(1) };
        await queue.PublishAsync(task);

        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Id, lease.Envelope.Id);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Capacity and backpressure

    [Fact]
    public async Task Publish_waits_while_the_queue_is_full_and_resumes_when_an_ack_frees_a_slot()
    {
        var queue = await NewQueueAsync(Define(capacity: 2));
        await queue.PublishAsync(NewTask());
        await queue.PublishAsync(NewTask());
        var third = queue.PublishAsync(NewTask()).AsTask();
        await AssertStillPendingAsync(third, "two ready tasks fill a queue of capacity 2");

        var lease = await ConsumeOrFailAsync(queue);
        await AssertStillPendingAsync(third, "a task in flight still holds its slot");

        Assert.True(await queue.AckAsync(lease));
        await third.WaitAsync(DeliveryDeadline);
        var stats = await queue.GetStatsAsync();
        Assert.Equal(3, stats.Published);
        Assert.Equal(2, stats.Depth);
        Assert.Equal(2, stats.Capacity);
    }

    [Fact]
    public async Task Delayed_tasks_count_against_the_capacity()
    {
        var queue = await NewQueueAsync(Define(capacity: 1));
        await queue.PublishAsync(NewTask() with { NotBefore = Time.GetUtcNow() + ShortDelay });
        var second = queue.PublishAsync(NewTask()).AsTask();
        await AssertStillPendingAsync(second, "a delayed task holds the only slot");

        await AdvanceTimeAsync(ShortDelay + ExpiryMargin);
        var lease = await ConsumeOrFailAsync(queue);
        Assert.True(await queue.AckAsync(lease));

        await second.WaitAsync(DeliveryDeadline);
    }

    [Fact]
    public async Task Cancelled_publish_throws_OperationCanceledException_and_does_not_enqueue_the_task()
    {
        var queue = await NewQueueAsync(Define(capacity: 1));
        var first = NewTask();
        await queue.PublishAsync(first);
        using var cts = new CancellationTokenSource();
        var blocked = queue.PublishAsync(NewTask(), cts.Token).AsTask();
        await AssertStillPendingAsync(blocked, "the queue is full");

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(DeliveryDeadline));

        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.Published);
        Assert.Equal(1, stats.Depth);
        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(first.Id, lease.Envelope.Id);
        Assert.True(await queue.AckAsync(lease));
        await AssertNothingDeliverableAsync(queue, "the cancelled publish enqueued nothing");
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Publish once (deduplicated publish)

    [Fact]
    public async Task Publish_once_publishes_an_id_once_within_the_window_even_after_the_task_is_done()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();
        var window = TimeSpan.FromMinutes(10);

        Assert.True(await queue.PublishOnceAsync(task, window));
        Assert.False(await queue.PublishOnceAsync(task with { Payload = new ContractTask(-1, "a redelivery") }, window));
        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(task.Payload, lease.Envelope.Payload);
        Assert.True(await queue.AckAsync(lease));
        Assert.False(await queue.PublishOnceAsync(task, window), "the id is remembered for the window, not only while the task is queued");
        await AssertNothingDeliverableAsync(queue, "duplicates publish nothing");

        Assert.True(await queue.PublishOnceAsync(NewTask(), window), "another id is published");
        Assert.Equal(2, (await queue.GetStatsAsync()).Published);
    }

    [Fact]
    public async Task Concurrent_publishes_once_of_one_id_publish_it_once()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => queue.PublishOnceAsync(task, TimeSpan.FromMinutes(10)).AsTask()));

        Assert.Single(results, r => r);
        Assert.Equal(task.Id, (await ConsumeOrFailAsync(queue)).Envelope.Id);
        await AssertNothingDeliverableAsync(queue, "one of sixteen concurrent publishes of an id was published");
    }

    [Fact]
    public async Task Publish_once_publishes_the_id_again_after_its_window()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();

        Assert.True(await queue.PublishOnceAsync(task, ShortDelay));
        Assert.True(await queue.AckAsync(await ConsumeOrFailAsync(queue)));
        await AdvanceTimeAsync(ShortDelay + ExpiryMargin);

        Assert.True(await queue.PublishOnceAsync(task, ShortDelay), "the window ended: the id is new again");
        Assert.Equal(task.Id, (await ConsumeOrFailAsync(queue)).Envelope.Id);
    }

    [Fact]
    public async Task A_publish_once_cancelled_while_the_queue_is_full_does_not_claim_the_id()
    {
        var queue = await NewQueueAsync(Define(capacity: 1));
        await queue.PublishAsync(NewTask());
        var task = NewTask();
        using var cts = new CancellationTokenSource();
        var blocked = queue.PublishOnceAsync(task, TimeSpan.FromMinutes(10), cts.Token).AsTask();
        await AssertStillPendingAsync(blocked, "the queue is full");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blocked.WaitAsync(DeliveryDeadline));

        Assert.True(await queue.AckAsync(await ConsumeOrFailAsync(queue)));
        Assert.True(await queue.PublishOnceAsync(task, TimeSpan.FromMinutes(10)), "the cancelled publish did not claim the id");
        Assert.Equal(task.Id, (await ConsumeOrFailAsync(queue)).Envelope.Id);
    }

    [Fact]
    public async Task Dead_lettering_frees_a_capacity_slot()
    {
        var queue = await NewQueueAsync(Define(capacity: 1));
        await queue.PublishAsync(NewTask());
        var lease = await ConsumeOrFailAsync(queue);
        var next = queue.PublishAsync(NewTask()).AsTask();
        await AssertStillPendingAsync(next, "the leased task holds the only slot");

        Assert.True(await queue.DeadLetterAsync(lease, "poison"));

        await next.WaitAsync(DeliveryDeadline);
        Assert.Equal(1, (await queue.GetStatsAsync()).Depth);
    }

    [Fact]
    public async Task Redelivery_into_a_full_queue_needs_no_free_slot()
    {
        var queue = await NewQueueAsync(Define(capacity: 1, maxAttempts: 10));
        var task = NewTask();
        await queue.PublishAsync(task);
        var blocked = queue.PublishAsync(NewTask()).AsTask();

        var first = await ConsumeOrFailAsync(queue);
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first).AsTask().WaitAsync(DeliveryDeadline));
        var second = await ConsumeOrFailAsync(queue);
        Assert.True(await queue.ReleaseAsync(second).AsTask().WaitAsync(DeliveryDeadline));
        var third = await ConsumeOrFailAsync(queue);
        await AdvanceTimeAsync(VisibilityTimeout + ExpiryMargin);
        var fourth = await ConsumeOrFailAsync(queue);

        Assert.All(new[] { first, second, third, fourth }, l => Assert.Equal(task.Id, l.Envelope.Id));
        Assert.Equal(3, fourth.Envelope.Attempt);
        await AssertStillPendingAsync(blocked, "redeliveries keep the slot the task already holds");
        Assert.True(await queue.AckAsync(fourth));
        await blocked.WaitAsync(DeliveryDeadline);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Statistics

    [Fact]
    public async Task Stats_track_every_step()
    {
        var queue = await NewQueueAsync(Define(capacity: 10, maxAttempts: 3));
        var stats = await queue.GetStatsAsync();
        Assert.Equal(new QueueStats { Capacity = 10, Consumers = stats.Consumers }, stats);

        for (var i = 0; i < 3; i++)
            await queue.PublishAsync(NewTask());
        stats = await queue.GetStatsAsync();
        Assert.Equal((3L, 0L, 0L, 3L), (stats.Depth, stats.InFlight, stats.Delayed, stats.Published));

        var first = await ConsumeOrFailAsync(queue);
        var second = await ConsumeOrFailAsync(queue);
        stats = await queue.GetStatsAsync();
        Assert.Equal((1L, 2L), (stats.Depth, stats.InFlight));

        Assert.True(await queue.AckAsync(first));
        stats = await queue.GetStatsAsync();
        Assert.Equal((1L, 1L, 1L), (stats.Depth, stats.InFlight, stats.Acked));

        Assert.Equal(NackResult.Requeued, await queue.NackAsync(second, ShortDelay));
        stats = await queue.GetStatsAsync();
        Assert.Equal((1L, 0L, 1L, 1L), (stats.Depth, stats.InFlight, stats.Delayed, stats.Nacked));

        var third = await ConsumeOrFailAsync(queue);
        Assert.True(await queue.DeadLetterAsync(third, "poison"));
        stats = await queue.GetStatsAsync();
        Assert.Equal((0L, 0L, 1L, 1L), (stats.Depth, stats.InFlight, stats.Delayed, stats.DeadLettered));
        Assert.Equal((3L, 1L, 1L, 10), (stats.Published, stats.Acked, stats.Nacked, stats.Capacity));
        Assert.Equal(1, stats.Outstanding);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Dead letters

    [Fact]
    public async Task Dead_letters_are_listed_oldest_first_with_their_details()
    {
        var queue = await NewQueueAsync(Define());
        var tasks = new List<TaskEnvelope<ContractTask>>();
        for (var i = 0; i < 3; i++)
        {
            var task = NewTask();
            tasks.Add(task);
            await queue.PublishAsync(task);
        }
        for (var i = 0; i < 3; i++)
        {
            var lease = await ConsumeOrFailAsync(queue);
            Assert.True(await queue.DeadLetterAsync(lease, $"reason {i}"));
            await AdvanceTimeAsync(TimeSpan.FromMilliseconds(50));
        }

        var dead = await queue.GetDeadLettersAsync();

        Assert.Equal(tasks.Select(t => t.Id), dead.Select(d => d.Id));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(queue.Name, dead[i].Queue);
            Assert.Equal(ContractTask.TaskTypeName, dead[i].TaskType);
            Assert.Equal(1, dead[i].Attempts);
            Assert.Equal($"reason {i}", dead[i].Reason);
            Assert.Equal(tasks[i].EnqueuedAt, dead[i].EnqueuedAt);
            Assert.True(dead[i].DeadLetteredAt >= dead[i].EnqueuedAt, "dead-lettered after it was enqueued");
            if (i > 0)
                Assert.True(dead[i].DeadLetteredAt >= dead[i - 1].DeadLetteredAt, "oldest first");
            Assert.True(dead[i].Payload is null || dead[i].Payload!.Contains(tasks[i].Payload.Text, StringComparison.Ordinal),
                $"the payload rendering, when there is one, shows the task: {dead[i].Payload}");
        }

        var oldestTwo = await queue.GetDeadLettersAsync(max: 2);
        Assert.Equal(tasks.Take(2).Select(t => t.Id), oldestTwo.Select(d => d.Id));
    }

    [Fact]
    public async Task A_listing_previews_long_payloads_and_a_single_read_returns_the_whole_payload()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        // Multi-byte characters on both sides of the preview limit: a durable backend cuts bytes, never a character in two.
        var text = string.Concat(Enumerable.Repeat("Grüße, Zoë 🚀 ", 2000)) + "THE-END";
        var (small, large) = (NewTask(), NewTask() with { Payload = new ContractTask(7, text) });
        await DeadLetterAllAsync(queue, small, large);

        var dead = await queue.GetDeadLettersAsync();

        var shortOne = dead.Single(d => d.Id == small.Id);
        var longOne = dead.Single(d => d.Id == large.Id);
        Assert.False(shortOne.PayloadTruncated);
        if (longOne.Payload is null)
            return; // a backend without payload renderings has nothing to preview
        Assert.True(longOne.PayloadTruncated, "the long payload's preview says it was cut");
        Assert.InRange(longOne.Payload.Length, 1, DeadLetter.PreviewLength);
        Assert.True(longOne.PayloadSize > DeadLetter.PreviewLength, $"the whole payload's size is known: {longOne.PayloadSize}");
        Assert.DoesNotContain('\uFFFD', longOne.Payload);

        var whole = await queue.GetDeadLetterAsync(large.Id);
        Assert.NotNull(whole);
        Assert.Equal(large.Id, whole.Id);
        Assert.Equal("failing for the test", whole.Reason);
        Assert.False(whole.PayloadTruncated);
        Assert.Contains("THE-END", whole.Payload!, StringComparison.Ordinal);
        Assert.DoesNotContain("THE-END", longOne.Payload, StringComparison.Ordinal);
        Assert.StartsWith(longOne.Payload, whole.Payload, StringComparison.Ordinal);
        Assert.Null(await queue.GetDeadLetterAsync("no-such-task"));
        Assert.Null(await queue.GetDeadLetterAsync(NewTask().Id));
    }

    [Fact]
    public async Task A_task_that_is_not_dead_lettered_is_not_read_as_a_dead_letter()
    {
        var queue = await NewQueueAsync(Define());
        var task = NewTask();
        await queue.PublishAsync(task);

        Assert.Null(await queue.GetDeadLetterAsync(task.Id));
    }

    [Fact]
    public async Task Retrying_dead_letters_by_id_redelivers_them_with_a_fresh_attempt_count()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        var (a, b) = (NewTask(), NewTask());
        await DeadLetterAllAsync(queue, a, b);

        Assert.Equal(1, await queue.RetryDeadLettersAsync([a.Id]));

        var stats = await queue.GetStatsAsync();
        Assert.Equal(1, stats.DeadLettered);
        Assert.Equal(1, stats.Depth);
        var lease = await ConsumeOrFailAsync(queue);
        Assert.Equal(a.Id, lease.Envelope.Id);
        Assert.Equal(a.Payload, lease.Envelope.Payload);
        Assert.Equal(1, lease.Envelope.Attempt);
        Assert.Equal(b.Id, Assert.Single(await queue.GetDeadLettersAsync()).Id);
        Assert.True(await queue.AckAsync(lease));
    }

    [Fact]
    public async Task Retrying_all_dead_letters_moves_every_one_back()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        var (a, b) = (NewTask(), NewTask());
        await DeadLetterAllAsync(queue, a, b);

        Assert.Equal(2, await queue.RetryDeadLettersAsync(null));

        Assert.Empty(await queue.GetDeadLettersAsync());
        var first = await ConsumeOrFailAsync(queue);
        var second = await ConsumeOrFailAsync(queue);
        Assert.Equal(new[] { a.Id, b.Id }.Order(), new[] { first.Envelope.Id, second.Envelope.Id }.Order());
        Assert.Equal(1, first.Envelope.Attempt);
        Assert.Equal(1, second.Envelope.Attempt);
        Assert.Equal(0, (await queue.GetStatsAsync()).DeadLettered);
    }

    [Fact]
    public async Task Purging_dead_letters_by_id_deletes_only_those()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        var (a, b, c) = (NewTask(), NewTask(), NewTask());
        await DeadLetterAllAsync(queue, a, b, c);

        Assert.Equal(1, await queue.PurgeDeadLettersAsync([b.Id]));

        Assert.Equal([a.Id, c.Id], (await queue.GetDeadLettersAsync()).Select(d => d.Id));
        Assert.Equal(2, (await queue.GetStatsAsync()).DeadLettered);
        await AssertNothingDeliverableAsync(queue, "purged dead letters are deleted, not retried");
    }

    [Fact]
    public async Task Purging_all_dead_letters_empties_the_store()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        await DeadLetterAllAsync(queue, NewTask(), NewTask());

        Assert.Equal(2, await queue.PurgeDeadLettersAsync(null));

        Assert.Empty(await queue.GetDeadLettersAsync());
        Assert.Equal(0, (await queue.GetStatsAsync()).DeadLettered);
        Assert.Equal(0, await queue.RetryDeadLettersAsync(null));
        await AssertNothingDeliverableAsync(queue, "purged dead letters are deleted, not retried");
    }

    [Fact]
    public async Task Unknown_dead_letter_ids_are_ignored()
    {
        var queue = await NewQueueAsync(Define(maxAttempts: 1));
        var (a, b) = (NewTask(), NewTask());
        await DeadLetterAllAsync(queue, a, b);

        Assert.Equal(0, await queue.RetryDeadLettersAsync(["no-such-task"]));
        Assert.Equal(0, await queue.PurgeDeadLettersAsync(["no-such-task"]));
        Assert.Equal(2, (await queue.GetDeadLettersAsync()).Count);
        Assert.Equal(1, await queue.RetryDeadLettersAsync([a.Id, "no-such-task"]));
        Assert.Equal(1, await queue.PurgeDeadLettersAsync(["no-such-task", b.Id]));
        Assert.Empty(await queue.GetDeadLettersAsync());
        Assert.Equal(a.Id, (await ConsumeOrFailAsync(queue)).Envelope.Id);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Batch publish

    [Fact]
    public async Task PublishMany_delivers_every_task_once_in_list_order_with_its_fields()
    {
        // 300: more than one script call of a batching backend (Redis: 256 per call).
        var queue = await NewQueueAsync(Define(capacity: 1000));
        var headers = new Dictionary<string, string>(StringComparer.Ordinal) { ["custom-header"] = "batch" };
        var batch = NewTaskBatch(300).Select((t, i) => i % 2 == 0 ? t with { Headers = headers } : t).ToList();

        await queue.PublishManyAsync(batch);

        var delivered = new List<TaskEnvelope<ContractTask>>();
        for (var i = 0; i < batch.Count; i++)
        {
            var lease = await ConsumeOrFailAsync(queue);
            delivered.Add(lease.Envelope);
            Assert.True(await queue.AckAsync(lease));
        }
        Assert.Equal(batch.Select(t => t.Id), delivered.Select(e => e.Id));
        Assert.Equal(batch.Select(t => t.Payload), delivered.Select(e => e.Payload));
        Assert.All(delivered, e => Assert.Equal(1, e.Attempt));
        Assert.Equal(batch.Select(t => t.Headers.Count), delivered.Select(e => e.Headers.Count));
        await AssertNothingDeliverableAsync(queue, "every task of the batch was delivered and acked");
        var stats = await queue.GetStatsAsync();
        Assert.Equal((300L, 300L, 0L), (stats.Published, stats.Acked, stats.Depth));
    }

    [Fact]
    public async Task PublishMany_waits_while_the_queue_is_full_and_publishes_the_rest_in_order_as_slots_free()
    {
        var queue = await NewQueueAsync(Define(capacity: 3));
        var batch = NewTaskBatch(7);
        var publishing = queue.PublishManyAsync(batch).AsTask();
        await AssertStillPendingAsync(publishing, "seven tasks do not fit a queue of capacity 3");

        var delivered = new List<string>();
        for (var i = 0; i < batch.Count; i++)
        {
            var lease = await ConsumeOrFailAsync(queue);
            delivered.Add(lease.Envelope.Id);
            Assert.True(await queue.AckAsync(lease));
        }
        await publishing.WaitAsync(DeliveryDeadline);

        Assert.Equal(batch.Select(t => t.Id), delivered);
        var stats = await queue.GetStatsAsync();
        Assert.Equal((7L, 7L, 0L, 0L), (stats.Published, stats.Acked, stats.Depth, stats.InFlight));
    }

    [Fact]
    public async Task Concurrent_acks_settle_each_lease_on_its_own_token()
    {
        // A batching backend may settle these acks in one call: each must still be judged on its own lease.
        var queue = await NewQueueAsync(Define(visibilityTimeout: TimeSpan.FromMinutes(5)));
        foreach (var task in NewTaskBatch(8))
            await queue.PublishAsync(task);
        var leases = new List<TaskLease<ContractTask>>();
        for (var i = 0; i < 8; i++)
            leases.Add(await ConsumeOrFailAsync(queue));
        // The first lease goes stale: its task is nacked and leased again under a new token.
        Assert.Equal(NackResult.Requeued, await queue.NackAsync(leases[0]));
        var again = await ConsumeOrFailAsync(queue);
        Assert.Equal(leases[0].Envelope.Id, again.Envelope.Id);

        var results = await Task.WhenAll(leases.Select(l => queue.AckAsync(l).AsTask()));

        Assert.Equal([false, true, true, true, true, true, true, true], results);
        var stats = await queue.GetStatsAsync();
        Assert.Equal((1L, 7L), (stats.InFlight, stats.Acked));
        Assert.True(await queue.AckAsync(again));
        Assert.Equal(0L, (await queue.GetStatsAsync()).Outstanding);
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Concurrency

    [Fact]
    public async Task Concurrent_producers_and_consumers_deliver_every_task_exactly_once_when_acked()
    {
        const int producers = 4, consumers = 4, perProducer = 250, total = producers * perProducer;
        // A long lease so that no task is redelivered on a slow real-time backend; a small capacity to exercise backpressure.
        var queue = await NewQueueAsync(Define(capacity: 32, visibilityTimeout: TimeSpan.FromMinutes(5)));
        var seen = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var duplicates = 0;
        var done = 0;
        using var stop = new CancellationTokenSource(DeliveryDeadline * 4);
        var published = Enumerable.Range(0, producers).Select(_ => NewTaskBatch(perProducer)).ToArray();

        var consumerTasks = Enumerable.Range(0, consumers).Select(_ => Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var lease = await queue.ConsumeAsync(stop.Token);
                    if (!seen.TryAdd(lease.Envelope.Id, lease.Envelope.Attempt))
                        Interlocked.Increment(ref duplicates);
                    Assert.True(await queue.AckAsync(lease));
                    if (Interlocked.Increment(ref done) == total)
                        await stop.CancelAsync();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        })).ToArray();
        var producerTasks = published.Select(batch => Task.Run(async () =>
        {
            foreach (var task in batch)
                await queue.PublishAsync(task, stop.Token);
        })).ToArray();

        await Task.WhenAll(producerTasks.Concat(consumerTasks));

        Assert.Equal(0, duplicates);
        Assert.Equal(total, seen.Count);
        Assert.All(seen.Values, attempt => Assert.Equal(1, attempt));
        Assert.Equal(published.SelectMany(b => b).Select(t => t.Id).Order(), seen.Keys.Order());
        var stats = await queue.GetStatsAsync();
        Assert.Equal((0L, 0L, (long)total, (long)total), (stats.Depth, stats.InFlight, stats.Published, stats.Acked));
    }

    // ----------------------------------------------------------------------------------------------------------------
    // Helpers for subclasses and tests

    /// <summary>A queue definition with a unique name derived from the calling test.</summary>
    protected QueueDefinition Define(int capacity = 100, int maxAttempts = 5, TimeSpan? visibilityTimeout = null, [CallerMemberName] string test = "")
    {
        var testPart = test.Length > 48 ? test[..48] : test;
        var name = $"{QueueNamePrefix}-{testPart}-{Guid.NewGuid():N}"[..Math.Min(100, QueueNamePrefix.Length + testPart.Length + 14)];
        return new QueueDefinition(name, ContractTask.TaskTypeName)
        {
            Capacity = capacity,
            MaxAttempts = maxAttempts,
            VisibilityTimeout = visibilityTimeout ?? VisibilityTimeout,
        };
    }

    /// <summary>Creates a queue through <see cref="CreateQueueAsync"/> and disposes it after the test.</summary>
    protected async Task<ITaskQueue<ContractTask>> NewQueueAsync(QueueDefinition definition)
    {
        var queue = await CreateQueueAsync(definition);
        _queues.Add(queue);
        return queue;
    }

    /// <summary>A fresh envelope with a unique id, enqueued now.</summary>
    protected TaskEnvelope<ContractTask> NewTask(IReadOnlyDictionary<string, string>? headers = null)
    {
        var number = Interlocked.Increment(ref _taskCounter);
        var id = $"task-{number}-{Guid.NewGuid():N}";
        var envelope = new TaskEnvelope<ContractTask>(id, ContractTask.TaskTypeName, new ContractTask(number, $"text of task {number}"), Time.GetUtcNow());
        return headers is null ? envelope : envelope with { Headers = headers };
    }

    /// <summary>Consumes the next task, failing the test if none arrives within <see cref="DeliveryDeadline"/>.</summary>
    protected async Task<TaskLease<ContractTask>> ConsumeOrFailAsync(ITaskQueue<ContractTask> queue)
    {
        using var deadline = new CancellationTokenSource(DeliveryDeadline);
        try
        {
            return await queue.ConsumeAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"No task was delivered from queue '{queue.Name}' within {DeliveryDeadline}.");
        }
    }

    /// <summary>Asserts that no task can be consumed now (see <see cref="NegativeCheckWindow"/>).</summary>
    protected async Task AssertNothingDeliverableAsync(ITaskQueue<ContractTask> queue, string because)
    {
        using var cts = new CancellationTokenSource();
        var pending = queue.ConsumeAsync(cts.Token).AsTask();
        if (NegativeCheckWindow <= TimeSpan.Zero)
            cts.Cancel();
        else
            cts.CancelAfter(NegativeCheckWindow);
        TaskLease<ContractTask> lease;
        try
        {
            lease = await pending.WaitAsync(DeliveryDeadline);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        throw new Xunit.Sdk.XunitException(
            $"Expected no deliverable task ({because}), but task '{lease.Envelope.Id}' was delivered with attempt {lease.Envelope.Attempt}.");
    }

    /// <summary>Asserts that <paramref name="operation"/> has not completed (see <see cref="NegativeCheckWindow"/>).</summary>
    protected async Task AssertStillPendingAsync(Task operation, string because)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (NegativeCheckWindow > TimeSpan.Zero)
            await Task.WhenAny(operation, Task.Delay(NegativeCheckWindow));
        Assert.False(operation.IsCompleted, $"Expected the operation to still be waiting ({because}); it ended as {operation.Status}.");
    }

    /// <summary>Waits until the queue's stats satisfy <paramref name="condition"/>, up to <see cref="DeliveryDeadline"/>.</summary>
    protected Task WaitForStatsAsync(ITaskQueue<ContractTask> queue, Func<QueueStats, bool> condition, string because)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(condition);
        return Eventually.TrueAsync(async () => condition(await queue.GetStatsAsync()), because, DeliveryDeadline);
    }

    private List<TaskEnvelope<ContractTask>> NewTaskBatch(int count)
    {
        var batch = new List<TaskEnvelope<ContractTask>>(count);
        for (var i = 0; i < count; i++)
            batch.Add(NewTask());
        return batch;
    }

    /// <summary>Publishes the tasks and dead-letters each one through a nack (the queue's MaxAttempts must be 1).</summary>
    private async Task DeadLetterAllAsync(ITaskQueue<ContractTask> queue, params TaskEnvelope<ContractTask>[] tasks)
    {
        foreach (var task in tasks)
            await queue.PublishAsync(task);
        foreach (var task in tasks)
        {
            var lease = await ConsumeOrFailAsync(queue);
            Assert.Equal(task.Id, lease.Envelope.Id);
            Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(lease, error: "failing for the test"));
        }
        Assert.Equal(tasks.Length, (await queue.GetStatsAsync()).DeadLettered);
    }

    private static IEnumerable<KeyValuePair<string, string>> Sorted(IReadOnlyDictionary<string, string> headers)
        => headers.OrderBy(h => h.Key, StringComparer.Ordinal).ToArray();
}
