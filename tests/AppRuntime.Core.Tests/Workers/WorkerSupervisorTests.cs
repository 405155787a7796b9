using System.Collections.Concurrent;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Core.Tests.Workers;

public sealed class WorkerSupervisorTests
{
    private static ITaskPublisher<Job> Publisher(TestRuntime rt) => rt.Provider.GetRequiredService<ITaskPublisher<Job>>();

    [Fact]
    public async Task Faulting_worker_loop_is_restarted_with_exponential_backoff()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var failures = 3;
        var flaky = new InterceptingBackend("Flaky", new InMemoryQueueBackend(time), () => Interlocked.Decrement(ref failures) >= 0 ? new IOException("consume failed (injected)") : null);
        var handled = 0;
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("flaky", "Job") { Backend = "Flaky" });
            b.AddWorkerPool(new WorkerPoolDefinition("flaky") { Workers = 1, RestartDelay = TimeSpan.FromSeconds(1), MaxRestartDelay = TimeSpan.FromSeconds(60) });
            b.AddHandler<Job>("flaky", _ => new DelegateHandler<Job>((_, _, _) =>
            {
                Interlocked.Increment(ref handled);
                return ValueTask.CompletedTask;
            }));
        }, time: time, services: s => s.AddSingleton<ITaskQueueBackend>(flaky));
        await rt.StartAsync();
        await Publisher(rt).PublishAsync(new Job(1));
        var pool = rt.Runtime.Supervisor.GetPool("flaky");

        // Fault 1: waits 1 s, fault 2: 2 s, fault 3: 4 s, then the loop consumes normally.
        foreach (var (restarts, wait) in new[] { (0, 1), (1, 2), (2, 4) })
        {
            await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0] is { State: WorkerState.Faulted } w && w.Restarts == restarts,
                $"worker faulted with {restarts} restarts so far");
            Assert.Contains("consume failed", pool.GetSnapshot().Workers[0].LastError, StringComparison.Ordinal);
            time.Advance(TimeSpan.FromSeconds(wait) - TimeSpan.FromMilliseconds(1));
            Assert.Equal(restarts, pool.GetSnapshot().Workers[0].Restarts);
            time.Advance(TimeSpan.FromMilliseconds(1));
        }

        await Eventually.TrueAsync(() => Volatile.Read(ref handled) == 1, "the restarted worker processes the task");
        // Counted as processed once the delivery returns, after the handler.
        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0].Processed == 1, "the worker counts it");
        var worker = pool.GetSnapshot().Workers[0];
        Assert.Equal(3, worker.Restarts);
        Assert.Equal(1, worker.Processed);
    }

    [Fact]
    public async Task Failing_handler_is_retried_then_dead_lettered_and_the_observer_is_told()
    {
        var recorder = new Recorder<Job>();
        var attempts = new ConcurrentBag<int>();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("fail", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("fail") { Workers = 1, MaxAttempts = 3, RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero });
            b.AddHandler<Job>("fail", _ => new DelegateHandler<Job>((_, ctx, _) =>
            {
                attempts.Add(ctx.Attempt);
                throw new InvalidOperationException($"boom on attempt {ctx.Attempt}");
            }));
            b.AddOutcomeObserver<Job>("fail", _ => recorder);
        });
        await rt.StartAsync();

        await Publisher(rt).PublishAsync(new Job(7), new TaskPublishOptions { Id = "job-7" });

        await Eventually.TrueAsync(() => recorder.DeadLettered.Count == 1, "task dead-lettered after 3 attempts");
        Assert.Equal([1, 2, 3], attempts.Order());
        var (envelope, reason) = Assert.Single(recorder.DeadLettered);
        Assert.Equal("job-7", envelope.Id);
        Assert.Contains("boom on attempt 3", reason, StringComparison.Ordinal);
        var dead = Assert.Single((await rt.Control.GetDeadLettersAsync("fail")).Value!);
        Assert.Equal("job-7", dead.Id);
        Assert.Equal(3, dead.Attempts);
        Assert.Empty(recorder.Succeeded);
        // The third failure is counted when the delivery returns, after the observer was told.
        await Eventually.TrueAsync(() => rt.Runtime.Supervisor.GetPool("fail").GetSnapshot().Failed == 3, "the pool counts 3 failures");
    }

    [Fact]
    public async Task Permanent_failure_is_dead_lettered_without_retry()
    {
        var recorder = new Recorder<Job>();
        var calls = 0;
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("perm", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("perm") { MaxAttempts = 5 });
            b.AddHandler<Job>("perm", _ => new DelegateHandler<Job>((_, _, _) =>
            {
                Interlocked.Increment(ref calls);
                throw new PermanentTaskException("order has no lines");
            }));
            b.AddOutcomeObserver<Job>("perm", _ => recorder);
        });
        await rt.StartAsync();

        await Publisher(rt).PublishAsync(new Job(1));

        await Eventually.TrueAsync(() => recorder.DeadLettered.Count == 1, "dead-lettered at once");
        Assert.Equal(1, calls);
        Assert.Contains("order has no lines", Assert.Single(recorder.DeadLettered).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_exception_delay_is_honoured()
    {
        var time = new FakeTimeProvider();
        var attempts = 0;
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("later", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("later") { MaxAttempts = 5 });
            b.AddHandler<Job>("later", _ => new DelegateHandler<Job>((_, ctx, _) =>
            {
                Interlocked.Increment(ref attempts);
                if (ctx.Attempt == 1)
                    throw new RetryTaskException("mailbox locked", TimeSpan.FromMinutes(2));
                return ValueTask.CompletedTask;
            }));
        }, time: time);
        await rt.StartAsync();
        await Publisher(rt).PublishAsync(new Job(1));
        var queue = rt.Queue<Job>("later");
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Delayed == 1, "the task waits for its retry delay");

        time.Advance(TimeSpan.FromMinutes(2) - TimeSpan.FromSeconds(1));
        Assert.Equal(1, Volatile.Read(ref attempts));
        Assert.Equal(1, (await queue.GetStatsAsync()).Delayed);
        time.Advance(TimeSpan.FromSeconds(1));

        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).Acked == 1, "second attempt succeeds after the delay");
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task Workers_of_a_pool_run_handlers_concurrently()
    {
        using var barrier = new Barrier(4);
        var passed = 0;
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("parallel", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("parallel") { Workers = 4 });
            b.AddHandler<Job>("parallel", _ => new DelegateHandler<Job>(async (_, _, _) =>
            {
                // Only 4 handlers running at the same time can all pass the barrier.
                await Task.Run(() => barrier.SignalAndWait(TimeSpan.FromSeconds(20)) ? Interlocked.Increment(ref passed) : 0);
            }));
        });
        await rt.StartAsync();
        for (var i = 0; i < 4; i++)
            await Publisher(rt).PublishAsync(new Job(i));

        await Eventually.TrueAsync(() => Volatile.Read(ref passed) == 4, "4 handlers met at the barrier");
    }

    [Fact]
    public async Task Busy_worker_shows_its_task_and_pause_stops_new_work_until_resume()
    {
        var gate = new TaskCompletionSource();
        var handled = new ConcurrentBag<int>();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("pausable", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("pausable") { Workers = 1 });
            b.AddHandler<Job>("pausable", _ => new DelegateHandler<Job>(async (job, _, _) =>
            {
                if (job.Number == 1)
                    await gate.Task;
                handled.Add(job.Number);
            }));
        });
        await rt.StartAsync();
        var pool = rt.Runtime.Supervisor.GetPool("pausable");
        await Publisher(rt).PublishAsync(new Job(1), new TaskPublishOptions { Id = "first" });
        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0] is { State: WorkerState.Busy, CurrentTaskId: "first" }, "worker busy with 'first'");

        Assert.True(rt.Control.PausePool("pausable").Succeeded);
        await Publisher(rt).PublishAsync(new Job(2));
        gate.SetResult();
        await Eventually.TrueAsync(() => pool.GetSnapshot().Workers[0].State == WorkerState.Paused, "worker paused after finishing its task");
        Assert.Equal([1], handled.ToArray());
        Assert.True(pool.GetSnapshot().Paused);
        Assert.Equal(1, (await rt.Queue<Job>("pausable").GetStatsAsync()).Depth);

        Assert.True(rt.Control.ResumePool("pausable").Succeeded);
        await Eventually.TrueAsync(() => handled.Count == 2, "the second task runs after resume");
    }

    [Fact]
    public async Task Scale_changes_the_number_of_workers_at_run_time()
    {
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("scaled", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("scaled") { Workers = 2 });
            b.AddHandler<Job>("scaled", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        });
        await rt.StartAsync();
        var pool = rt.Runtime.Supervisor.GetPool("scaled");
        Assert.Equal(2, pool.GetSnapshot().Workers.Count);

        Assert.True((await rt.Control.ScalePoolAsync("scaled", 5)).Succeeded);
        Assert.Equal(5, pool.GetSnapshot().Workers.Count);
        Assert.Equal(5, pool.GetSnapshot().DesiredWorkers);

        Assert.True((await rt.Control.ScalePoolAsync("scaled", 1)).Succeeded);
        Assert.Single(pool.GetSnapshot().Workers);

        Assert.Equal(ControlStatus.Invalid, (await rt.Control.ScalePoolAsync("scaled", 0)).Status);
        for (var i = 0; i < 10; i++)
            await Publisher(rt).PublishAsync(new Job(i));
        await Eventually.TrueAsync(() => pool.GetSnapshot().Processed == 10, "the single remaining worker still processes");
    }

    [Fact]
    public async Task Long_running_handler_renews_its_lease_so_it_is_not_delivered_twice()
    {
        var time = new FakeTimeProvider();
        var deliveries = new ConcurrentBag<int>();
        var gate = new TaskCompletionSource();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("long", "Job") { VisibilityTimeout = TimeSpan.FromSeconds(30) });
            b.AddWorkerPool(new WorkerPoolDefinition("long") { Workers = 2 });
            b.AddHandler<Job>("long", _ => new DelegateHandler<Job>(async (_, ctx, _) =>
            {
                deliveries.Add(ctx.Attempt);
                await gate.Task;
            }));
        }, time: time);
        await rt.StartAsync();
        await Publisher(rt).PublishAsync(new Job(1));
        await Eventually.TrueAsync(() => deliveries.Count == 1, "first delivery");

        // Five visibility timeouts pass while the handler works; renewals every 10 s keep the lease.
        for (var i = 0; i < 15; i++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            await Eventually.TrueAsync(async () => (await rt.Queue<Job>("long").GetStatsAsync()).InFlight == 1, "still leased");
        }

        Assert.Single(deliveries);
        gate.SetResult();
        await Eventually.TrueAsync(async () => (await rt.Queue<Job>("long").GetStatsAsync()).Acked == 1, "acked once");
        Assert.Single(deliveries);
    }

    [Fact]
    public async Task A_failed_renewal_is_retried_at_the_next_check_so_the_lease_survives_a_few_failures()
    {
        // Visibility 30 s: renewals are due once 20 s or less remain and the pool checks every 5 s. The first three renewals
        // (at 10, 15 and 20 s) fail; the fourth, at 25 s with 5 s left, keeps the lease.
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var renewFailures = 3;
        var renewCalls = 0;
        var backend = new InterceptingBackend("Flaky", new InMemoryQueueBackend(time), () => null, () =>
        {
            Interlocked.Increment(ref renewCalls);
            return Interlocked.Decrement(ref renewFailures) >= 0 ? new IOException("renew failed (injected)") : null;
        });
        var deliveries = new ConcurrentBag<int>();
        var gate = new TaskCompletionSource();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("long", "Job") { Backend = "Flaky", VisibilityTimeout = TimeSpan.FromSeconds(30) });
            b.AddWorkerPool(new WorkerPoolDefinition("long") { Workers = 2 });
            b.AddHandler<Job>("long", _ => new DelegateHandler<Job>(async (_, ctx, _) =>
            {
                deliveries.Add(ctx.Attempt);
                await gate.Task;
            }));
        }, time: time, services: s => s.AddSingleton<ITaskQueueBackend>(backend));
        await rt.StartAsync();
        await Publisher(rt).PublishAsync(new Job(1));
        await Eventually.TrueAsync(() => deliveries.Count == 1, "first delivery");

        for (var second = 5; second <= 60; second += 5)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            var expectedCalls = second < 10 ? 0 : second <= 25 ? (second - 5) / 5 : 4 + ((second - 25) / 10);
            await Eventually.TrueAsync(() => Volatile.Read(ref renewCalls) >= expectedCalls, $"{expectedCalls} renewal attempts by {second} s");
            Assert.Equal(1, (await rt.Queue<Job>("long").GetStatsAsync()).InFlight);
        }

        Assert.Single(deliveries);
        gate.SetResult();
        await Eventually.TrueAsync(async () => (await rt.Queue<Job>("long").GetStatsAsync()).Acked == 1, "acked once");
        Assert.Single(deliveries);
    }

    [Fact]
    public async Task A_lease_the_backend_refuses_to_renew_is_not_renewed_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var renewCalls = 0;
        var backend = new InterceptingBackend("Refusing", new InMemoryQueueBackend(time), () => null, refuseRenew: () =>
        {
            Interlocked.Increment(ref renewCalls);
            return true;
        });
        var started = 0;
        var gate = new TaskCompletionSource();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("long", "Job") { Backend = "Refusing", VisibilityTimeout = TimeSpan.FromSeconds(30) });
            b.AddWorkerPool(new WorkerPoolDefinition("long") { Workers = 1 });
            b.AddHandler<Job>("long", _ => new DelegateHandler<Job>(async (_, _, _) =>
            {
                Interlocked.Increment(ref started);
                await gate.Task;
            }));
        }, time: time, services: s => s.AddSingleton<ITaskQueueBackend>(backend));
        await rt.StartAsync();
        await Publisher(rt).PublishAsync(new Job(1));
        await Eventually.TrueAsync(() => Volatile.Read(ref started) == 1, "the handler started");

        // The first check with 20 s or less left (at 10 s) asks once and is refused; later checks while the handler still
        // works (up to 25 s, before the in-memory lease itself expires) do not ask again.
        for (var i = 0; i < 5; i++)
            time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(1, Volatile.Read(ref renewCalls));
        gate.SetResult();
    }
}
