using AppRuntime.TestSupport;
using MailKit;
using MimeKit;

namespace AppRuntime.Mail.Tests;

/// <summary>
/// How outcomes reach the server, checked by an IMAP session of the test's own: a flag counts only once the server shows it,
/// including on messages that arrived after the completion connection opened (a server may ignore a STORE of a UID its session
/// does not know yet, and answer OK), and reconciliation puts back a flag that went missing.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ImapCompletionIntegrationTests
{
    public static TheoryData<bool> Modes => new() { false, true };

    private static ITaskSource<ImapMessage> Create(bool idle, ImapOptions options) =>
        idle ? new ImapIdleSource(options) : new ImapPollingSource(options);

    private static ITaskOutcomeObserver<ImapMessage> Observer(ITaskSource<ImapMessage> source) => (ITaskOutcomeObserver<ImapMessage>)source;

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Outcomes_of_messages_that_arrive_after_the_completion_connection_opened_reach_the_server(bool idle)
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync(idle ? "lateidle" : "latepoll");
        var first = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("First", "SKU-1001 x 1"));

        var source = Create(idle, ImapTestServer.Options(folder));
        await using var disposeSource = (IAsyncDisposable)source;
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the first message is published");
        await Observer(source).OnSucceededAsync(running.Context.Published[0], CancellationToken.None); // opens the completion connection

        // Arrive while the bot runs: the completion connection has not seen these UIDs.
        var later = new List<UniqueId>();
        for (var i = 0; i < 4; i++)
        {
            later.Add(await ImapTestServer.AppendAsync(folder, ImapTestServer.Message($"Later {i}", "SKU-1001 x 1")));
            await Eventually.TrueAsync(() => running.Context.Published.Count == i + 2, $"later message {i} is published");
            var task = running.Context.Published[^1];
            if (i == 3)
                await Observer(source).OnDeadLetteredAsync(task, "failed for good", CancellationToken.None);
            else
                await Observer(source).OnSucceededAsync(task, CancellationToken.None);

            // No waiting: once the observer returned, the server must already show the flag.
            var flags = (await ImapTestServer.FlagsAsync(folder))[later[i].Id];
            if (i == 3)
            {
                Assert.Contains(ImapOptions.DefaultFailedKeyword, flags.Keywords);
                Assert.False(flags.Flags!.Value.HasFlag(MessageFlags.Seen));
            }
            else
            {
                Assert.True(flags.Flags!.Value.HasFlag(MessageFlags.Seen), $"UID {later[i].Id}, appended after the completion connection opened, is not \\Seen");
            }
        }

        Assert.True((await ImapTestServer.FlagsAsync(folder))[first.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.DoesNotContain("flag_unconfirmed", running.Context.Events);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Reconciliation_restores_a_flag_removed_by_hand_and_counts_it(bool idle)
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync(idle ? "recidle" : "recpoll");
        var seen = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Seen", "SKU-1001 x 1"));
        var failed = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Failed", "SKU-1001 x 1"));
        var options = ImapTestServer.Options(folder) with { ReconcileInterval = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMinutes(10) };

        var source = Create(idle, options);
        await using var disposeSource = (IAsyncDisposable)source;
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 2, "both messages are published");
        await Observer(source).OnSucceededAsync(running.Context.Published.Single(t => t.Payload.Uid == seen.Id), CancellationToken.None);
        await Observer(source).OnDeadLetteredAsync(running.Context.Published.Single(t => t.Payload.Uid == failed.Id), "bad", CancellationToken.None);

        // An operator (or a mail client) takes both flags away.
        using (var client = await ImapTestServer.ConnectAsync())
        {
            var target = await client.GetFolderAsync(folder);
            await target.OpenAsync(FolderAccess.ReadWrite);
            await target.StoreAsync(seen, new StoreFlagsRequest(StoreAction.Remove, MessageFlags.Seen) { Silent = true });
            await target.StoreAsync(failed, new StoreFlagsRequest(StoreAction.Remove, [ImapOptions.DefaultFailedKeyword]) { Silent = true });
            await client.DisconnectAsync(true);
        }

        var removedAt = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.TrueAsync(async () =>
        {
            var flags = await ImapTestServer.FlagsAsync(folder);
            return flags[seen.Id].Flags!.Value.HasFlag(MessageFlags.Seen) && flags[failed.Id].Keywords.Contains(ImapOptions.DefaultFailedKeyword);
        }, "reconciliation stores both flags again", TimeSpan.FromSeconds(10));
        // Within a few intervals of 1 s (the default would be a minute); loose, for a loaded machine.
        Assert.True(removedAt.Elapsed < TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(6), $"restored after {removedAt.Elapsed}, the interval is 1 s");

        var flagsNow = await ImapTestServer.FlagsAsync(folder);
        Assert.False(flagsNow[failed.Id].Flags!.Value.HasFlag(MessageFlags.Seen), "a failed message stays unread");
        // The server shows a flag as soon as its STORE ran; the events are recorded when the whole batch returns.
        await Eventually.TrueAsync(() => running.Context.Details.GetValueOrDefault("flagsReconciled") == "2", "the count is in the source's details");
        Assert.Equal(2, running.Context.Events.Count(e => e == "flag_reconciled"));
        Assert.Equal(2, running.Context.Published.Count); // restored, not processed again
    }

    [Fact]
    public async Task A_message_deleted_before_its_outcome_is_stored_is_not_counted_as_flagged_or_pending()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("gone");
        var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Gone", "SKU-1001 x 1"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder));
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the message is published");
        using (var client = await ImapTestServer.ConnectAsync())
        {
            var target = await client.GetFolderAsync(folder);
            await target.OpenAsync(FolderAccess.ReadWrite);
            await target.StoreAsync(uid, new StoreFlagsRequest(StoreAction.Add, MessageFlags.Deleted) { Silent = true });
            await target.ExpungeAsync();
            await client.DisconnectAsync(true);
        }

        await source.OnSucceededAsync(running.Context.Published[0], CancellationToken.None);
        Assert.Equal(0, source.PendingFlags);
        Assert.Equal(0, source.InFlightCount);
        Assert.DoesNotContain("flag_unconfirmed", running.Context.Events);
    }

    [Fact]
    public async Task A_message_over_the_size_limit_is_never_published_and_is_flagged_failed_while_the_rest_flows()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("big");
        var big = ImapTestServer.Message("Big", "SKU-1001 x 1", attachment: ("big.bin", "application/octet-stream", new byte[200_000]));
        var bigUid = await ImapTestServer.AppendAsync(folder, big);
        var small = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Small", "SKU-1001 x 1"));

        await using var source = new ImapPollingSource(ImapTestServer.Options(folder) with { MaxMessageSize = 100_000 });
        await using var running = new RunningSource(source, new CollectingContext());
        await Eventually.TrueAsync(() => running.Context.Published.Count == 1, "the small message is published");
        Assert.Equal(small.Id, running.Context.Published[0].Payload.Uid);
        await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder))[bigUid.Id].Keywords.Contains(ImapOptions.DefaultFailedKeyword),
            "the big message is flagged failed");
        var flags = (await ImapTestServer.FlagsAsync(folder))[bigUid.Id];
        Assert.False(flags.Flags!.Value.HasFlag(MessageFlags.Seen));
        Assert.Contains("message_too_large", running.Context.Events);
        var pollsThen = source.Status.TotalPolls;
        await Eventually.TrueAsync(() => source.Status.TotalPolls >= pollsThen + 3, "three more polls run");
        Assert.Single(running.Context.Published);
    }
}
