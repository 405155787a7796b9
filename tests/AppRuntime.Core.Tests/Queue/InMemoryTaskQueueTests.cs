using System.Collections.Concurrent;
using AppRuntime.Internal;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Core.Tests.Queue;

/// <summary>In-memory specifics beyond the shared contract: timer wiring, ordering details, disposal, limits.</summary>
public sealed class InMemoryTaskQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan Visibility = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly List<IAsyncDisposable> _disposables = [];
    private int _counter;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
            await disposable.DisposeAsync();
    }

    [Fact]
    public void Backend_is_named_InMemory_and_is_not_durable()
    {
        var backend = new InMemoryQueueBackend(_time);

        Assert.Equal("InMemory", backend.Name);
        Assert.Equal(InMemoryQueueBackend.BackendName, backend.Name);
        Assert.False(backend.IsDurable);
    }

    [Fact]
    public void Created_queue_reports_its_name_task_type_backend_and_definition()
    {
        var definition = new QueueDefinition("orders", "order-email") { Capacity = 7 };

        var queue = Track(new InMemoryQueueBackend(_time).Create<ContractTask>(definition, serializer: null));

        Assert.IsType<InMemoryTaskQueue<ContractTask>>(queue);
        Assert.Equal("orders", queue.Name);
        Assert.Equal("order-email", queue.TaskType);
        Assert.Equal("InMemory", queue.Backend);
        Assert.Same(definition, queue.Definition);
    }

    [Fact]
    public void Create_rejects_an_invalid_definition()
    {
        var backend = new InMemoryQueueBackend(_time);

        var error = Assert.Throws<ArgumentException>(() => backend.Create<ContractTask>(new QueueDefinition("bad", "t") { Capacity = 0 }, null));
        Assert.Contains("Capacity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lease_expiry_is_driven_by_the_timer_without_any_consumer_asking()
    {
        var queue = NewQueue();
        await queue.PublishAsync(NewTask());
        await NextAsync(queue);

        _time.Advance(Visibility);

        var stats = await queue.GetStatsAsync();
        Assert.Equal(0, stats.InFlight);
        Assert.Equal(1, stats.Depth);
    }

    [Fact]
    public async Task Lease_is_held_until_exactly_its_expiry()
    {
        var queue = NewQueue();
        await queue.PublishAsync(NewTask());
        var lease = await NextAsync(queue);
        Assert.Equal(_time.GetUtcNow() + Visibility, lease.LeasedUntil);

        _time.Advance(Visibility - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, (await queue.GetStatsAsync()).InFlight);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, (await queue.GetStatsAsync()).InFlight);
    }

    [Fact]
    public async Task Delayed_tasks_become_ready_by_due_time_and_in_publish_order_for_equal_times()
    {
        var queue = NewQueue();
        var now = _time.GetUtcNow();
        var late = NewTask() with { NotBefore = now.AddSeconds(3) };
        var early1 = NewTask() with { NotBefore = now.AddSeconds(1) };
        var early2 = NewTask() with { NotBefore = now.AddSeconds(1) };
        await queue.PublishAsync(late);
        await queue.PublishAsync(early1);
        await queue.PublishAsync(early2);

        _time.Advance(TimeSpan.FromSeconds(1));
        var first = await NextAsync(queue);
        var second = await NextAsync(queue);
        Assert.Equal([early1.Id, early2.Id], [first.Envelope.Id, second.Envelope.Id]);
        Assert.True(await queue.AckAsync(first));
        Assert.True(await queue.AckAsync(second));
        Assert.Equal(1, (await queue.GetStatsAsync()).Delayed);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(late.Id, (await NextAsync(queue)).Envelope.Id);
    }

    [Fact]
    public async Task Renewing_one_lease_does_not_delay_the_expiry_of_a_later_lease()
    {
        var queue = NewQueue(maxAttempts: 5);
        var first = NewTask();
        var second = NewTask();
        await queue.PublishAsync(first);
        await queue.PublishAsync(second);
        var firstLease = await NextAsync(queue);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        await NextAsync(queue);
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(await queue.RenewLeaseAsync(firstLease)); // first now expires at +3 s, after the second (+2.5 s)

        _time.Advance(TimeSpan.FromMilliseconds(1500));

        var stats = await queue.GetStatsAsync();
        Assert.Equal((1L, 1L), (stats.Depth, stats.InFlight));
        var redelivered = await NextAsync(queue);
        Assert.Equal(second.Id, redelivered.Envelope.Id);
        Assert.True(await queue.AckAsync(firstLease));
    }

    [Fact]
    public async Task Timer_is_only_rescheduled_when_it_must_fire_earlier()
    {
        var counting = new CountingTimeProvider(_time);
        var queue = Track(new InMemoryQueueBackend(counting).Create<ContractTask>(Definition(capacity: 1000), null));
        for (var i = 0; i < 100; i++)
            await queue.PublishAsync(NewTask());

        var leases = new List<TaskLease<ContractTask>>();
        for (var i = 0; i < 100; i++)
        {
            leases.Add(await NextAsync(queue));
            _time.Advance(TimeSpan.FromMilliseconds(1)); // every new lease expires later than the armed one
        }
        foreach (var lease in leases)
            Assert.True(await queue.AckAsync(lease));

        Assert.Equal(1, counting.Changes);
    }

    [Fact]
    public async Task Stats_count_the_consumers_waiting_for_a_task()
    {
        var queue = NewQueue();
        using var cts = new CancellationTokenSource();

        var waiting = new[] { queue.ConsumeAsync(cts.Token).AsTask(), queue.ConsumeAsync(cts.Token).AsTask() };

        Assert.Equal(2, (await queue.GetStatsAsync()).Consumers);
        cts.Cancel();
        foreach (var consumer in waiting)
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer.WaitAsync(Deadline));
        Assert.Equal(0, (await queue.GetStatsAsync()).Consumers);
    }

    [Fact]
    public async Task Disposing_fails_waiting_consumers_and_publishers_and_later_calls_with_ObjectDisposedException()
    {
        var queue = (InMemoryTaskQueue<ContractTask>)NewQueue(capacity: 1);
        var consumer = queue.ConsumeAsync().AsTask();
        await queue.PublishAsync(NewTask());
        var lease = await consumer.WaitAsync(Deadline);
        var waitingConsumer = queue.ConsumeAsync().AsTask();
        var waitingPublisher = queue.PublishAsync(NewTask()).AsTask();
        Assert.False(waitingConsumer.IsCompleted);
        Assert.False(waitingPublisher.IsCompleted);

        await queue.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => waitingConsumer.WaitAsync(Deadline));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waitingPublisher.WaitAsync(Deadline));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await queue.ConsumeAsync());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await queue.PublishAsync(NewTask()));
        Assert.False(await queue.AckAsync(lease));
        Assert.Equal(NackResult.LeaseLost, await queue.NackAsync(lease));
        await queue.DisposeAsync(); // idempotent
    }

    [Fact]
    public async Task Dead_letter_listings_preview_the_payload_text_and_the_single_read_returns_it_whole()
    {
        var queue = NewQueue(maxAttempts: 1);
        var shortTask = NewTask();
        var longTask = NewTask() with { Payload = new ContractTask(99, new string('x', 5000)) };
        await queue.PublishAsync(shortTask);
        await queue.PublishAsync(longTask);
        Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(await NextAsync(queue)));
        Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(await NextAsync(queue)));

        var dead = await queue.GetDeadLettersAsync();

        Assert.Equal(shortTask.Payload.ToString(), dead[0].Payload);
        Assert.False(dead[0].PayloadTruncated);
        Assert.Equal(DeadLetter.PreviewLength, dead[1].Payload!.Length);
        Assert.True(dead[1].PayloadTruncated);
        Assert.Equal(longTask.Payload.ToString().Length, dead[1].PayloadSize);
        Assert.StartsWith("ContractTask { Number = 99, Text = xxx", dead[1].Payload, StringComparison.Ordinal);

        var whole = await queue.GetDeadLetterAsync(longTask.Id);
        Assert.Equal(longTask.Payload.ToString(), whole!.Payload);
        Assert.False(whole.PayloadTruncated);
        Assert.Null(await queue.GetDeadLetterAsync("no-such-id"));
    }

    [Fact]
    public async Task Retried_dead_letters_do_not_wait_for_capacity()
    {
        var queue = NewQueue(capacity: 1, maxAttempts: 1);
        await queue.PublishAsync(NewTask());
        Assert.Equal(NackResult.DeadLettered, await queue.NackAsync(await NextAsync(queue)));
        await queue.PublishAsync(NewTask()); // the dead letter freed the slot; the queue is full again

        var retry = queue.RetryDeadLettersAsync(null).AsTask();

        Assert.True(retry.IsCompletedSuccessfully);
        Assert.Equal(1, await retry);
        var stats = await queue.GetStatsAsync();
        Assert.Equal(2, stats.Depth);
        Assert.Equal(2, stats.Outstanding);
    }

    [Fact]
    public async Task Nack_without_an_error_keeps_the_previous_LastError()
    {
        var queue = NewQueue();
        await queue.PublishAsync(NewTask());
        await queue.NackAsync(await NextAsync(queue), error: "first");
        await queue.NackAsync(await NextAsync(queue));

        var third = await NextAsync(queue);

        Assert.Equal(3, third.Envelope.Attempt);
        Assert.Equal("first", third.Envelope.LastError);
    }

    [Fact]
    public async Task Nack_with_a_delay_sets_NotBefore_to_the_retry_time()
    {
        var queue = NewQueue();
        await queue.PublishAsync(NewTask());
        var nackedAt = _time.GetUtcNow();
        await queue.NackAsync(await NextAsync(queue), TimeSpan.FromSeconds(5));

        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(nackedAt.AddSeconds(5), (await NextAsync(queue)).Envelope.NotBefore);
    }

    [Fact]
    public async Task Nack_rejects_a_negative_retry_delay()
    {
        var queue = NewQueue();
        await queue.PublishAsync(NewTask());
        var lease = await NextAsync(queue);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await queue.NackAsync(lease, TimeSpan.FromSeconds(-1)));
        Assert.True(await queue.AckAsync(lease));
    }

    [Fact]
    public async Task Lease_from_another_queue_is_not_settled()
    {
        var first = NewQueue();
        var second = NewQueue();
        await first.PublishAsync(NewTask());
        var lease = await NextAsync(first);

        Assert.False(await second.AckAsync(lease));
        Assert.Equal(NackResult.LeaseLost, await second.NackAsync(lease));
        Assert.Equal(1, (await first.GetStatsAsync()).InFlight);
        Assert.True(await first.AckAsync(lease));
    }

    [Fact]
    public async Task Lease_expiry_works_on_the_system_clock()
    {
        var queue = Track(new InMemoryQueueBackend(TimeProvider.System).Create<ContractTask>(
            Definition(visibility: TimeSpan.FromMilliseconds(150)), null));
        await queue.PublishAsync(NewTask());
        var first = await NextAsync(queue);

        using var deadline = new CancellationTokenSource(Deadline);
        var second = await queue.ConsumeAsync(deadline.Token);

        Assert.Equal(first.Envelope.Id, second.Envelope.Id);
        Assert.Equal(2, second.Envelope.Attempt);
        Assert.True(second.LeasedUntil >= first.LeasedUntil);
    }

    [Fact]
    public async Task An_envelope_the_caller_published_is_never_changed_by_its_delivery()
    {
        var queue = NewQueue();
        var published = NewTask();
        await queue.PublishAsync(published);

        var lease = await NextAsync(queue);

        Assert.Equal(1, lease.Envelope.Attempt);
        Assert.Equal(0, published.Attempt);   // the caller may still hold it: the delivery counts on a copy
        Assert.NotSame(published, lease.Envelope);
    }

    [Fact]
    public async Task A_runtime_owned_envelope_counts_its_first_delivery_in_place_and_a_redelivery_copies()
    {
        var queue = NewQueue();
        var owned = NewTask();
        await ((IRuntimeEnvelopeQueue<ContractTask>)queue).PublishRuntimeEnvelopeAsync(owned, CancellationToken.None);

        var first = await NextAsync(queue);
        Assert.Same(owned, first.Envelope);      // nobody else holds it: no copy
        Assert.Equal(1, first.Envelope.Attempt);

        Assert.Equal(NackResult.Requeued, await queue.NackAsync(first));
        var second = await NextAsync(queue);

        // The first delivery's handler may still hold its envelope: the redelivery must not change it.
        Assert.Equal(2, second.Envelope.Attempt);
        Assert.Equal(1, first.Envelope.Attempt);
        Assert.NotSame(first.Envelope, second.Envelope);
        Assert.NotEqual(first.Token, second.Token);
    }

    [Fact]
    public async Task Concurrent_consumers_that_nack_then_ack_settle_every_task_once()
    {
        const int total = 2000;
        var queue = NewQueue(capacity: 64, maxAttempts: 3);
        var acked = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var done = 0;
        using var stop = new CancellationTokenSource(Deadline * 4);

        var consumers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var lease = await queue.ConsumeAsync(stop.Token);
                    if (lease.Envelope.Attempt == 1)
                    {
                        Assert.Equal(NackResult.Requeued, await queue.NackAsync(lease, error: "first try fails"));
                        continue;
                    }
                    Assert.True(acked.TryAdd(lease.Envelope.Id, lease.Envelope.Attempt), $"{lease.Envelope.Id} acked twice");
                    Assert.True(await queue.AckAsync(lease));
                    if (Interlocked.Increment(ref done) == total)
                        await stop.CancelAsync();
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        })).ToArray();
        var producers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < total / 4; i++)
                await queue.PublishAsync(NewTask(), stop.Token);
        })).ToArray();

        await Task.WhenAll(producers.Concat(consumers));

        Assert.Equal(total, acked.Count);
        Assert.All(acked.Values, attempt => Assert.Equal(2, attempt));
        var stats = await queue.GetStatsAsync();
        Assert.Equal((0L, 0L, (long)total, (long)total, (long)total), (stats.Depth, stats.InFlight, stats.Published, stats.Acked, stats.Nacked));
    }

    [Fact]
    public async Task Every_delivery_has_its_own_token_and_a_token_reads_the_same_every_time()
    {
        var queue = NewQueue();
        await queue.PublishAsync(NewTask());
        await queue.PublishAsync(NewTask());

        var first = await NextAsync(queue);
        var second = await NextAsync(queue);
        await queue.ReleaseAsync(first);
        var again = await NextAsync(queue);          // the same task delivered once more: a new delivery, a new token

        Assert.Equal(first.Envelope.Id, again.Envelope.Id);
        var tokens = new[] { first.Token, second.Token, again.Token };
        Assert.All(tokens, t => Assert.False(string.IsNullOrEmpty(t)));
        Assert.Equal(3, tokens.Distinct().Count());
        Assert.Equal(tokens, new[] { first.Token, second.Token, again.Token });
        Assert.True(await queue.AckAsync(again));
        Assert.False(await queue.AckAsync(first));   // a released delivery's lease settles nothing
    }

    /// <summary>Consumes with a deadline, so a broken queue fails the test instead of hanging it.</summary>
    private static async Task<TaskLease<ContractTask>> NextAsync(ITaskQueue<ContractTask> queue)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        return await queue.ConsumeAsync(deadline.Token);
    }

    private ITaskQueue<ContractTask> NewQueue(int capacity = 100, int maxAttempts = 5)
        => Track(new InMemoryQueueBackend(_time).Create<ContractTask>(Definition(capacity, maxAttempts), null));

    private QueueDefinition Definition(int capacity = 100, int maxAttempts = 5, TimeSpan? visibility = null)
        => new($"in-memory-{Interlocked.Increment(ref _counter)}", ContractTask.TaskTypeName)
        {
            Capacity = capacity,
            MaxAttempts = maxAttempts,
            VisibilityTimeout = visibility ?? Visibility,
        };

    private ITaskQueue<ContractTask> Track(ITaskQueue<ContractTask> queue)
    {
        _disposables.Add((IAsyncDisposable)queue);
        return queue;
    }

    private TaskEnvelope<ContractTask> NewTask()
    {
        var n = Interlocked.Increment(ref _counter);
        return new TaskEnvelope<ContractTask>($"task-{n}", ContractTask.TaskTypeName, new ContractTask(n, $"task {n}"), _time.GetUtcNow());
    }

    /// <summary>A clock that counts how often the queue re-arms its timer.</summary>
    private sealed class CountingTimeProvider(FakeTimeProvider inner) : TimeProvider
    {
        private int _changes;

        public int Changes => Volatile.Read(ref _changes);

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
            => new CountingTimer(this, inner.CreateTimer(callback, state, dueTime, period));

        private sealed class CountingTimer(CountingTimeProvider owner, ITimer timer) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Interlocked.Increment(ref owner._changes);
                return timer.Change(dueTime, period);
            }

            public void Dispose() => timer.Dispose();

            public ValueTask DisposeAsync() => timer.DisposeAsync();
        }
    }
}
