using AppRuntime;
#if (imap)
using AppRuntime.Mail;
#endif
using AppRuntime.Testing;
using Company.Service1.Handlers;
#if (timer)
using Company.Service1.Sources;
#endif
using Microsoft.Extensions.Logging.Abstractions;

namespace Company.Service1.Tests;

/// <summary>The service's module on the real runtime (AppRuntime.Testing): in-memory queues and a fake clock.</summary>
public sealed class ServiceTests
{
#if (timer)
    [Fact]
    public async Task The_timer_publishes_a_batch_at_start_and_every_interval_and_every_item_is_handled()
    {
        await using var app = await AppRuntimeHarness.StartAsync(runtime => runtime.AddServiceModule(), o =>
        {
            o.Configuration["Service:Interval"] = "00:01:00";
            o.Configuration["Service:BatchSize"] = "3";
        });

        await app.RunUntilIdleAsync();
        Assert.Equal(3, app.Handled<WorkItem>("work").Count);

        await app.AdvanceTimeAsync(TimeSpan.FromMinutes(2), step: TimeSpan.FromMinutes(1));

        Assert.Equal(Enumerable.Range(1, 9), app.Handled<WorkItem>("work").Select(w => w.Sequence).Order());
        Assert.Equal(9, app.GetRequiredService<WorkLog>().Handled);
    }

    [Fact]
    public async Task A_work_item_without_an_id_is_dead_lettered_at_once()
    {
        await using var app = await AppRuntimeHarness.StartAsync(runtime => runtime.AddServiceModule(), o => o.RunSources = false);

        await app.PublishAsync(new WorkItem("", 1, app.Time.GetUtcNow()));
        await app.RunUntilIdleAsync();

        var dead = Assert.Single(app.DeadLettered<WorkItem>("work"));
        Assert.Contains("needs an id", dead.Error, StringComparison.Ordinal);
        Assert.Empty(app.Handled<WorkItem>("work"));
    }

    [Fact]
    public async Task An_invalid_setting_stops_the_start_with_its_key()
    {
        var error = await Assert.ThrowsAsync<ConfigValidationException>(() =>
            AppRuntimeHarness.StartAsync(runtime => runtime.AddServiceModule(), o => o.Configuration["Service:BatchSize"] = "0"));

        Assert.Contains(error.Errors, e => e.KeyPath == "Service:BatchSize");
    }
#else
    private static ImapMessage Email(string key, string? body) => new()
    {
        IdempotencyKey = key,
        Folder = "INBOX",
        Subject = "Hello",
        From = "ann@example.com",
        TextBody = body,
    };

    [Fact]
    public async Task An_email_is_handled_and_one_without_a_body_is_dead_lettered()
    {
        await using var app = await AppRuntimeHarness.StartAsync(runtime => runtime.AddServiceModule(), o => o.RunSources = false);

        await app.PublishAsync(Email("1:1", "hello"));
        await app.PublishAsync(Email("1:2", null));
        await app.RunUntilIdleAsync();

        Assert.Equal(["1:1"], app.Handled<ImapMessage>("work").Select(m => m.IdempotencyKey));
        Assert.Equal(["1:2"], app.DeadLettered<ImapMessage>("work").Select(m => m.Payload.IdempotencyKey));
    }
#endif
}

/// <summary>The handler on its own.</summary>
public sealed class HandlerTests
{
#if (timer)
    [Fact]
    public async Task A_handled_item_is_counted()
    {
        var log = new WorkLog();
        var handler = new WorkItemHandler(log, NullLogger<WorkItemHandler>.Instance);

        await handler.HandleAsync(new WorkItem("item-1", 1, DateTimeOffset.UnixEpoch), TestTaskContext.Create("work"), CancellationToken.None);

        Assert.Equal(1, log.Handled);
    }

    [Fact]
    public async Task The_timer_source_reports_caught_up_after_each_batch()
    {
        var context = new TestSourceContext<WorkItem>();
        await using (var run = context.Run(new TimerSource(new ServiceSettings { BatchSize = 2, Interval = TimeSpan.FromSeconds(10) })))
        {
            await context.WaitUntilCaughtUpAsync();
            context.FakeTime!.Advance(TimeSpan.FromSeconds(10));
            await context.WaitUntilCaughtUpAsync(times: 2);
        }

        Assert.Equal([1, 2, 3, 4], context.PublishedTasks.Select(w => w.Sequence));
    }
#else
    [Fact]
    public async Task A_handled_email_is_counted()
    {
        var log = new WorkLog();
        var handler = new MailHandler(log, NullLogger<MailHandler>.Instance);

        await handler.HandleAsync(new ImapMessage { IdempotencyKey = "1:1", Folder = "INBOX", TextBody = "hi" }, TestTaskContext.Create("work"), CancellationToken.None);

        Assert.Equal(1, log.Handled);
    }
#endif
}
