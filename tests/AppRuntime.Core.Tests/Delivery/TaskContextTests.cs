using System.Collections.Concurrent;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Core.Tests.Delivery;

/// <summary>
/// What a handler's <see cref="TaskContext"/> reports, read from the delivery it belongs to, and the compact storage of the
/// envelope's <see cref="TaskEnvelope{T}.NotBefore"/> and the lease's <see cref="TaskLease{T}.LeasedUntil"/>.
/// </summary>
public sealed class TaskContextTests
{
    private sealed record Facts(string Queue, string TaskId, int Attempt, int MaxAttempts, bool IsLastAttempt, DateTimeOffset EnqueuedAt,
        string? Header, bool ServicesResolve);

    [Fact]
    public async Task A_handler_sees_the_facts_of_its_own_delivery_on_every_attempt()
    {
        var publishedAt = new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(publishedAt);
        var seen = new ConcurrentQueue<Facts>();
        await using var rt = new TestRuntime(b =>
        {
            // A visibility timeout far beyond the minute the test moves the clock: no lease may expire while a task is in flight.
            b.AddQueue<Job>(new QueueDefinition("facts", "Job") { MaxAttempts = 3, VisibilityTimeout = TimeSpan.FromHours(1) });
            b.AddWorkerPool(new WorkerPoolDefinition("facts") { Workers = 1 });
            b.AddHandler<Job>("facts", _ => new DelegateHandler<Job>((job, context, _) =>
            {
                context.Headers.TryGetValue("tenant", out var tenant);
                seen.Enqueue(new Facts(context.Queue, context.TaskId, context.Attempt, context.MaxAttempts, context.IsLastAttempt,
                    context.EnqueuedAt, tenant, context.Services.GetService(typeof(TimeProvider)) is not null));
                if (context.Attempt < 3)
                    throw new RetryTaskException("not yet", TimeSpan.Zero);
                return ValueTask.CompletedTask;
            }));
        }, time: time);
        await rt.StartAsync();
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        var other = await publisher.PublishAsync(new Job(1));
        time.Advance(TimeSpan.FromMinutes(1));
        var id = await publisher.PublishAsync(new Job(2), new TaskPublishOptions
        {
            Headers = new Dictionary<string, string> { ["tenant"] = "acme" },
        });
        await Eventually.TrueAsync(async () => (await rt.Queue<Job>("facts").GetStatsAsync()).Acked == 2, "both tasks acked");

        var mine = seen.Where(f => f.TaskId == id).ToArray();
        Assert.Equal([1, 2, 3], mine.Select(f => f.Attempt));
        Assert.Equal([false, false, true], mine.Select(f => f.IsLastAttempt));
        Assert.All(mine, f =>
        {
            Assert.Equal("facts", f.Queue);
            Assert.Equal(3, f.MaxAttempts);
            Assert.Equal(publishedAt.AddMinutes(1), f.EnqueuedAt);
            Assert.Equal("acme", f.Header);
            Assert.True(f.ServicesResolve);
        });
        var first = seen.Where(f => f.TaskId == other).ToArray();
        Assert.Equal([1, 2, 3], first.Select(f => f.Attempt));
        Assert.All(first, f => Assert.Equal((publishedAt, (string?)null), (f.EnqueuedAt, f.Header)));
    }

    [Fact]
    public void A_context_built_by_a_test_reports_what_it_was_given_and_resolves_from_the_given_provider()
    {
        var services = new ServiceCollection().AddSingleton(TimeProvider.System).BuildServiceProvider();
        var enqueued = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));
        var headers = new Dictionary<string, string> { ["a"] = "b" };
        var context = new TaskContext("q", "t-9", 2, 2, enqueued, headers, services);

        Assert.Equal(("q", "t-9", 2, 2, true), (context.Queue, context.TaskId, context.Attempt, context.MaxAttempts, context.IsLastAttempt));
        Assert.Equal(enqueued.Offset, context.EnqueuedAt.Offset);
        Assert.Same(headers, context.Headers);
        Assert.Same(services, context.Services);
        Assert.Same(TimeProvider.System, ((IServiceProvider)context).GetService(typeof(TimeProvider)));
    }

    [Fact]
    public void An_envelopes_NotBefore_keeps_null_apart_from_the_default_time_and_is_the_instant_it_was_given_in_UTC()
    {
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(-5));
        var plain = new TaskEnvelope<int>("t-1", "Int", 7, at);
        Assert.Null(plain.NotBefore);

        var delayed = plain with { NotBefore = at.AddSeconds(30) };
        Assert.Equal(at.AddSeconds(30), delayed.NotBefore);                          // the same instant
        Assert.Equal(at.AddSeconds(30).UtcDateTime, delayed.NotBefore!.Value.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, delayed.NotBefore.Value.Offset);
        Assert.Equal(delayed, plain with { NotBefore = at.AddSeconds(30).ToOffset(TimeSpan.FromHours(3)) });   // equal as instants, as before
        Assert.NotEqual(plain, delayed);

        var atDefault = plain with { NotBefore = default(DateTimeOffset) };
        Assert.Equal(default(DateTimeOffset), atDefault.NotBefore);
        Assert.NotEqual(plain, atDefault);              // a time, even the default one, is not "no time"

        var cleared = delayed with { NotBefore = null };
        Assert.Null(cleared.NotBefore);
        Assert.Equal(plain, cleared);
        Assert.Equal(plain.GetHashCode(), cleared.GetHashCode());
    }

    [Fact]
    public void A_leases_expiry_is_the_instant_it_was_given_in_UTC()
    {
        var envelope = new TaskEnvelope<int>("t-1", "Int", 7, DateTimeOffset.UnixEpoch);
        var until = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(2));
        var lease = new TaskLease<int>("q", envelope, "token", until);
        Assert.Equal(until, lease.LeasedUntil);                         // the same instant
        Assert.Equal(until.UtcDateTime, lease.LeasedUntil.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, lease.LeasedUntil.Offset);

        lease.LeasedUntil = until.AddSeconds(30);
        Assert.Equal(until.AddSeconds(30), lease.LeasedUntil);
    }
}
