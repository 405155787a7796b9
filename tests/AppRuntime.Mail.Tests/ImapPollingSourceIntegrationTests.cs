using System.Text;
using AppRuntime.TestSupport;
using MailKit;

namespace AppRuntime.Mail.Tests;

[Trait("Category", "Integration")]
public sealed class ImapPollingSourceIntegrationTests
{
    [Fact]
    public async Task Polling_source_publishes_one_task_per_unseen_message_with_its_content()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("poll");
        var csv = Encoding.UTF8.GetBytes("sku,quantity\nSKU-1001,2\n");
        var first = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Order 1", "SKU-1001 x 2", "order-1@test",
            html: "<p>SKU-1001 x 2</p>", attachment: ("order.csv", "text/csv", csv)));
        var second = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Order 2", "SKU-1002 x 1", "order-2@test"));
        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Already read", "x", "read@test"), MessageFlags.Seen);

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using (var running = new RunningSource(source, new CollectingContext()))
        {
            await Eventually.TrueAsync(() => running.Context.Published.Count >= 2, "both unseen messages are published");
            var tasks = running.Context.Published.OrderBy(t => t.Payload.Uid).ToList();
            Assert.Equal(2, tasks.Count);

            var task = tasks[0];
            Assert.Equal($"{first.Validity}:{first.Id}", task.Id);
            Assert.Equal(task.Id, task.Payload.IdempotencyKey);
            Assert.Equal(first.Id, task.Payload.Uid);
            Assert.Equal(first.Validity, task.Payload.UidValidity);
            Assert.Equal(folder, task.Payload.Folder);
            Assert.Equal("order-1@test", task.Payload.MessageId);
            Assert.Equal("Order 1", task.Payload.Subject);
            Assert.Contains("ann@example.com", task.Payload.From, StringComparison.Ordinal);
            Assert.Contains(task.Payload.To, t => t.Contains("orders@example.com", StringComparison.Ordinal));
            Assert.Equal("SKU-1001 x 2", task.Payload.TextBody?.Trim());
            Assert.Contains("<p>SKU-1001 x 2</p>", task.Payload.HtmlBody, StringComparison.Ordinal);
            var attachment = Assert.Single(task.Payload.Attachments);
            Assert.Equal("order.csv", attachment.FileName);
            Assert.Equal("text/csv", attachment.ContentType);
            Assert.Equal("sku,quantity\nSKU-1001,2\n", Encoding.UTF8.GetString(attachment.Content).ReplaceLineEndings("\n")); // MIME text is CRLF
            Assert.Equal("Order 1", task.Payload.GetHeader("subject"));
            Assert.Equal(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero), task.Payload.Date);
            Assert.Equal(second.Id, tasks[1].Payload.Uid);
            // Reported when the poll returns, after its publishes.
            await Eventually.TrueAsync(() => running.Context.HealthyReports("polling") > 0, "the poll reports healthy");
        }

        var flags = await ImapTestServer.FlagsAsync(folder);
        Assert.False(flags[first.Id].Flags!.Value.HasFlag(MessageFlags.Seen), "the source must never mark a message read by itself");
        Assert.False(flags[second.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
    }

    [Fact]
    public async Task A_message_in_flight_is_not_published_again_by_later_polls()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("inflight");
        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Slow", "SKU-1001 x 1"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the message is published");
        var pollsThen = source.Status.TotalPolls;
        await Eventually.TrueAsync(() => source.Status.TotalPolls >= pollsThen + 3, "three more polls run");
        Assert.Single(running.Context.Published);
        Assert.Equal(1, source.InFlightCount);
    }

    [Fact]
    public async Task Success_marks_the_message_seen_and_it_is_not_published_again()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("seen");
        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Done", "SKU-1001 x 1"));
        var other = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Untouched", "SKU-1001 x 1"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 2, "both messages are published");
        var done = running.Context.Published.Single(t => t.Payload.Uid == uid.Id);

        await source.OnSucceededAsync(done, CancellationToken.None);

        var flags = await ImapTestServer.FlagsAsync(folder);
        Assert.True(flags[uid.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.False(flags[other.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
        var pollsThen = source.Status.TotalPolls;
        await Eventually.TrueAsync(() => source.Status.TotalPolls >= pollsThen + 3, "three more polls run");
        Assert.Equal(2, running.Context.Published.Count);
        Assert.Equal(1, source.InFlightCount);
    }

    [Fact]
    public async Task Dead_letter_leaves_the_message_unread_flags_it_and_it_is_not_published_again()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("dead");
        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Broken", "???"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the message is published");

        await source.OnDeadLetteredAsync(running.Context.Published[0], "handler failed for good", CancellationToken.None);

        var flags = (await ImapTestServer.FlagsAsync(folder))[uid.Id];
        Assert.False(flags.Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.Contains(ImapOptions.DefaultFailedKeyword, flags.Keywords);
        var pollsThen = source.Status.TotalPolls;
        await Eventually.TrueAsync(() => source.Status.TotalPolls >= pollsThen + 3, "three more polls run");
        Assert.Single(running.Context.Published);
        Assert.Equal(0, source.InFlightCount);
    }

    [Fact]
    public async Task A_message_another_instance_settled_without_its_flag_reaching_the_server_is_published_again_and_flagged()
    {
        // Several instances share the queue: this source (the leader) published both messages; "another instance" handled the
        // first, and its \Seen STORE never reached the server (it crashed, or Dovecot restarted), so only a republish repairs it.
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("elsewhere");
        var lost = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Handled elsewhere", "SKU-1001 x 1"));
        var slow = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Still in a worker", "SKU-1001 x 2"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder) with { PendingCheckAfter = TimeSpan.FromSeconds(1) });
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 2, "both messages are published");
        var lostId = running.Context.Published.Single(t => t.Payload.Uid == lost.Id).Id;
        var slowId = running.Context.Published.Single(t => t.Payload.Uid == slow.Id).Id;
        running.Context.SettledElsewhere[lostId] = true;

        await Eventually.TrueAsync(() => running.Context.Published.Count(t => t.Id == lostId) == 2,
            "the message settled elsewhere but still unread is published again");
        Assert.Contains("flag_repair_republished", running.Context.Events);
        // Its outcome, this time reported to this source, stores the flag: seen by a session of the test's own.
        await source.OnSucceededAsync(running.Context.Published.Last(t => t.Id == lostId), CancellationToken.None);
        Assert.True((await ImapTestServer.FlagsAsync(folder))[lost.Id].Flags!.Value.HasFlag(MessageFlags.Seen));

        // The task the queue still holds was asked about and is not published again, however long its handler takes.
        await Eventually.TrueAsync(() => running.Context.PendingQueries.Count(q => q == slowId) >= 2, "the pending task is looked up twice");
        Assert.Single(running.Context.Published, t => t.Id == slowId);
        // Asked in batches, both messages in the first one: one lookup per check, not one per message.
        Assert.Equal(new[] { lostId, slowId }.Order(StringComparer.Ordinal), running.Context.PendingBatches.First().Order(StringComparer.Ordinal));
        Assert.Equal(1, source.InFlightCount);
        Assert.False((await ImapTestServer.FlagsAsync(folder))[slow.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
    }

    [Fact]
    public async Task A_failing_pending_lookup_keeps_the_session_and_is_asked_again_later()
    {
        // The queue's backend is away: the lookup throws. The source keeps polling on its session, reports no error, republishes
        // nothing, and asks again at the next interval; once the backend answers, the repair happens.
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("lookup-fails");
        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Handled elsewhere", "SKU-1001 x 1"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder) with { PendingCheckAfter = TimeSpan.FromSeconds(1) });
        var context = new CollectingContext { LookupFails = new InvalidOperationException("Redis at 127.0.0.1:1 did not answer") };
        await using var running = new RunningSource(source, context);
        await Eventually.TrueAsync(() => context.Published.Count == 1, "the message is published");
        var id = context.Published[0].Id;
        context.SettledElsewhere[id] = true;

        await Eventually.TrueAsync(() => context.PendingQueries.Count(q => q == id) >= 3, "the lookup is tried at three intervals");
        Assert.Single(context.Published);
        Assert.Equal(0, source.Status.ConsecutiveErrors);
        Assert.DoesNotContain(context.Reports, r => r.Error is not null);

        context.LookupFails = null;
        await Eventually.TrueAsync(() => context.Published.Count(t => t.Id == id) == 2, "published again once the lookup answers");
    }

    [Fact]
    public async Task A_message_appended_later_is_found_by_the_next_poll()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("later");

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => source.Status.TotalPolls >= 1, "a first poll runs");
        Assert.Empty(running.Context.Published);

        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Late", "SKU-1001 x 3"));

        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the new message is published");
        Assert.Equal(uid.Id, running.Context.Published[0].Payload.Uid);
    }

    [Fact]
    public async Task A_message_that_is_not_mime_is_flagged_failed_and_the_rest_is_still_published()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("garbage");
        var garbage = await ImapTestServer.AppendRawAsync(folder, "this is not a header\r\n\u0001\u0002 neither\r\n"u8.ToArray());
        var good = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Good", "SKU-1001 x 1"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the readable message is published");
        Assert.Equal(good.Id, running.Context.Published[0].Payload.Uid);

        var flags = (await ImapTestServer.FlagsAsync(folder))[garbage.Id];
        Assert.Contains(ImapOptions.DefaultFailedKeyword, flags.Keywords);
        Assert.False(flags.Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.Equal(0, source.Status.ConsecutiveErrors);
    }

    [Fact]
    public async Task Wrong_password_is_reported_as_an_error_and_polling_goes_on()
    {
        await ImapTestServer.EnsureRunningAsync();
        var options = ImapTestServer.Options("INBOX") with { Password = "wrong" };

        await using var source = new ImapPollingSource(options);
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => source.Status.ConsecutiveErrors >= 2, "failed polls are retried with backoff");
        Assert.Contains(running.Context.Reports, r => r.Error is MailKit.Security.AuthenticationException);
        Assert.False(running.IsCompleted);
        Assert.False(source.IsConnected);
    }

    [Fact]
    public async Task StartTls_against_a_server_without_it_fails_with_a_clear_error()
    {
        await ImapTestServer.EnsureRunningAsync();
        var options = ImapTestServer.Options("INBOX") with { Security = ImapSecurity.StartTls };

        await using var source = new ImapPollingSource(options);
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Reports.Any(r => r.Error is not null), "the failed connect is reported");
        var error = running.Context.Reports.First(r => r.Error is not null).Error!;
        Assert.Contains("STARTTLS", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
