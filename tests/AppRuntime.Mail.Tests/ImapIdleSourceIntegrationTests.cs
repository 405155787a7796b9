using AppRuntime.TestSupport;
using MailKit;

namespace AppRuntime.Mail.Tests;

[Trait("Category", "Integration")]
public sealed class ImapIdleSourceIntegrationTests
{
    private static ImapOptions IdleOptions(string folder) =>
        ImapTestServer.Options(folder) with { PollInterval = TimeSpan.FromHours(1) }; // only IDLE can deliver new mail

    [Fact]
    public async Task An_idling_source_wakes_to_republish_a_message_another_instance_settled_without_its_flag()
    {
        // As the polling test of the same name, while the source idles: no new mail arrives to wake it, the IDLE (9 minutes by
        // default) must end when the published message is due to be looked up in the queue.
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("idle-elsewhere");
        var lost = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Handled elsewhere", "SKU-1001 x 1"));

        await using var source = new ImapIdleSource(IdleOptions(folder) with { PendingCheckAfter = TimeSpan.FromSeconds(1) });
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the message is published");
        var id = running.Context.Published[0].Id;
        running.Context.SettledElsewhere[id] = true;

        await Eventually.TrueAsync(() => running.Context.Published.Count(t => t.Id == id) == 2, "the idling source publishes it again", TimeSpan.FromSeconds(20));
        await source.OnSucceededAsync(running.Context.Published[^1], CancellationToken.None);
        Assert.True((await ImapTestServer.FlagsAsync(folder))[lost.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
    }

    [Fact]
    public async Task Idle_source_catches_up_on_unseen_messages_at_start()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("idlecatch");
        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("One", "SKU-1001 x 1"));
        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Two", "SKU-1001 x 2"));
        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Read", "SKU-1001 x 2"), MessageFlags.Seen);

        await using var source = new ImapIdleSource(IdleOptions(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => source.State == "idle", "the source reaches IDLE");
        Assert.Equal(["One", "Two"], running.Context.Published.Select(t => t.Payload.Subject).Order());
        // The state changes just before the report is sent.
        await Eventually.TrueAsync(() => running.Context.HealthyReports("idle") > 0, "the source reports idle");
    }

    [Fact]
    public async Task A_message_appended_while_idling_is_published_within_seconds_without_polling()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("idlenew");

        await using var source = new ImapIdleSource(IdleOptions(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => source.State == "idle", "the source reaches IDLE");
        Assert.Equal(1, source.Searches);

        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Fresh", "SKU-1001 x 1"));

        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "IDLE announces the new message", TimeSpan.FromSeconds(10));
        Assert.Equal(uid.Id, running.Context.Published[0].Payload.Uid);
        Assert.True(source.IdleWakeups >= 1, "the message was found because IDLE woke up, not by a poll");
    }

    [Fact]
    public async Task Idle_is_reissued_after_the_idle_timeout_and_still_delivers()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("idlere");

        await using var source = new ImapIdleSource(IdleOptions(folder) with { IdleTimeout = TimeSpan.FromMilliseconds(200) });
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.HealthyReports("idle") >= 4, "IDLE is re-issued several times");
        Assert.Equal(1, source.Searches); // a re-issue is not a search
        Assert.Equal(0, source.IdleWakeups);

        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("After reissue", "SKU-1001 x 1"));
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "a re-issued IDLE still announces new mail", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Without_idle_the_source_falls_back_to_polling()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("noidle");

        await using var source = new ImapIdleSource(ImapTestServer.Options(folder)) { IgnoreIdleCapability = true };
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => source.Searches >= 2, "the source polls");
        Assert.Equal("polling", running.Context.Reports.Last(r => r.Error is null).State);

        await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Polled", "SKU-1001 x 1"));
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "a poll finds the new message");
        Assert.Equal(0, source.IdleWakeups);
    }

    [Fact]
    public async Task Idle_source_completion_marks_seen_and_flags_dead_letters()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("idledone");
        var ok = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Ok", "SKU-1001 x 1"));
        var bad = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Bad", "nonsense"));

        await using var source = new ImapIdleSource(IdleOptions(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 2, "both messages are published");
        await source.OnSucceededAsync(running.Context.Published.Single(t => t.Payload.Uid == ok.Id), CancellationToken.None);
        await source.OnDeadLetteredAsync(running.Context.Published.Single(t => t.Payload.Uid == bad.Id), "permanent", CancellationToken.None);

        var flags = await ImapTestServer.FlagsAsync(folder);
        Assert.True(flags[ok.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.False(flags[bad.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.Contains(ImapOptions.DefaultFailedKeyword, flags[bad.Id].Keywords);
        Assert.Equal(0, source.InFlightCount);
    }
}
