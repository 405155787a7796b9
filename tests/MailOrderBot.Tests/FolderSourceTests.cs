using AppRuntime;
using AppRuntime.Mail;
using AppRuntime.TestSupport;
using AppRuntime.Testing;
using MailOrderBot.Sources;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailOrderBot.Tests;

public sealed class FolderSourceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"inbox-{Guid.NewGuid():N}");

    public FolderSourceTests()
    {
        Directory.CreateDirectory(_dir);
        foreach (var file in Directory.EnumerateFiles(TestData.DemoInbox, "*.eml"))
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The folder source on its own, as the runtime runs it: AppRuntime.Testing's source context (real time: scans every 50 ms).</summary>
    private static TestSourceContext<ImapMessage> Context() => new(TimeProvider.System, "inbox", "orders");

    [Fact]
    public async Task Files_are_published_once_and_moved_to_processed_or_failed_by_their_outcome()
    {
        var source = new FolderSource(_dir, TimeSpan.FromMilliseconds(50), NullLogger<FolderSource>.Instance);
        var context = Context();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(context, stop.Token);

        await Eventually.TrueAsync(() => source.Scans >= 3, "the folder is scanned several times");
        Assert.Equal(19, context.Published.Count); // 21 files, 2 are not emails
        Assert.Equal(context.Published.Count, context.Published.Select(t => t.Id).Distinct().Count());
        Assert.True(File.Exists(Path.Combine(_dir, "failed", "20-empty.eml")));
        Assert.True(File.Exists(Path.Combine(_dir, "failed", "21-not-an-email.eml")));
        Assert.False(source.IsDrained);

        var tasks = context.Published.ToList();
        var first = tasks.Single(t => t.Id == "file:01-simple-order.eml");
        Assert.Equal("demo-01@shop.example", first.Payload.MessageId);
        await source.OnDeadLetteredAsync(tasks.Single(t => t.Id == "file:13-unknown-sku.eml"), "test", CancellationToken.None);
        foreach (var task in tasks.Where(t => t.Id != "file:13-unknown-sku.eml"))
            await source.OnSucceededAsync(task, CancellationToken.None);

        await Eventually.TrueAsync(() => source.IsDrained, "every file is settled");
        Assert.Equal(18, Directory.GetFiles(Path.Combine(_dir, "processed")).Length);
        Assert.Equal(["13-unknown-sku.eml", "20-empty.eml", "21-not-an-email.eml"],
            Directory.GetFiles(Path.Combine(_dir, "failed")).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetFiles(_dir, "*.eml"));
        Assert.Equal(19, context.Published.Count);

        await stop.CancelAsync();
        await run; // stopping is not an error
    }

    [Fact]
    public async Task A_file_dropped_later_is_picked_up_by_the_next_scan()
    {
        var empty = Path.Combine(_dir, "empty");
        Directory.CreateDirectory(empty);
        var source = new FolderSource(empty, TimeSpan.FromMilliseconds(50), NullLogger<FolderSource>.Instance);
        var context = Context();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(context, stop.Token);
        await Eventually.TrueAsync(() => source.Scans >= 1, "a first scan runs");

        File.Copy(Path.Combine(TestData.DemoInbox, "02-quantity-first.eml"), Path.Combine(empty, "late.eml"));

        await Eventually.TrueAsync(() => context.Published.Count == 1, "the new file is published");
        Assert.Equal("file:late.eml", context.Published.Single().Id);
        await stop.CancelAsync();
        await run; // stopping is not an error
    }

    /// <summary>
    /// Anyone who can write to the queue (Redis) can put any id and payload in a task. The folder source must settle only files it
    /// listed itself, looked up by the id it issued: a task naming another file, by absolute path or by a relative path that
    /// climbs out of the inbox, moves nothing (issue #19, finding 2).
    /// </summary>
    [Theory]
    [InlineData("absolute")]
    [InlineData("relative")]
    public async Task An_outcome_for_a_file_it_did_not_list_moves_nothing_whatever_path_the_task_names(string form)
    {
        var inbox = Path.Combine(_dir, "inbox-" + form);
        Directory.CreateDirectory(inbox);
        var outside = Path.Combine(_dir, "outside-" + form);
        Directory.CreateDirectory(outside);
        var victim = Path.Combine(outside, "victim.txt");
        File.WriteAllText(victim, "not an email, not in the inbox");
        var named = form == "absolute" ? victim : Path.Combine("..", "outside-" + form, "victim.txt");
        var source = new FolderSource(inbox, TimeSpan.FromMilliseconds(50), NullLogger<FolderSource>.Instance);
        var context = Context();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(context, stop.Token);
        await Eventually.TrueAsync(() => source.Scans >= 1, "a first scan runs");

        // A forged task: its id and its payload's idempotency key both name the victim the way the folder source names files.
        var forged = new ImapMessage { IdempotencyKey = "file:" + named, Folder = inbox };
        await source.OnSucceededAsync(new TaskEnvelope<ImapMessage>("file:" + named, "ImapMessage", forged, DateTimeOffset.UtcNow), CancellationToken.None);
        await source.OnDeadLetteredAsync(new TaskEnvelope<ImapMessage>("file:" + named, "ImapMessage", forged, DateTimeOffset.UtcNow), "forged", CancellationToken.None);

        Assert.True(File.Exists(victim), "the file outside the inbox was moved");
        Assert.False(Directory.Exists(Path.Combine(inbox, "processed")) && Directory.EnumerateFileSystemEntries(Path.Combine(inbox, "processed")).Any());
        Assert.False(Directory.Exists(Path.Combine(inbox, "failed")) && Directory.EnumerateFileSystemEntries(Path.Combine(inbox, "failed")).Any());
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_forged_outcome_for_a_listed_file_name_in_another_form_moves_nothing_and_the_real_one_still_settles()
    {
        var inbox = Path.Combine(_dir, "listed");
        Directory.CreateDirectory(inbox);
        File.Copy(Path.Combine(TestData.DemoInbox, "01-simple-order.eml"), Path.Combine(inbox, "01.eml"));
        var source = new FolderSource(inbox, TimeSpan.FromMilliseconds(50), NullLogger<FolderSource>.Instance);
        var context = Context();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(context, stop.Token);
        await Eventually.TrueAsync(() => context.Published.Count == 1, "the file is published");

        // The same file named through a path: not an id the source issued.
        var forged = new ImapMessage { IdempotencyKey = "file:./01.eml", Folder = inbox };
        await source.OnSucceededAsync(new TaskEnvelope<ImapMessage>("file:./01.eml", "ImapMessage", forged, DateTimeOffset.UtcNow), CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(inbox, "01.eml")));

        await source.OnSucceededAsync(context.Published.Single(), CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(inbox, "processed", "01.eml")));
        await stop.CancelAsync();
        await run;
    }

    [Fact]
    public async Task A_file_over_the_size_limit_or_a_link_goes_to_failed_unread_and_is_counted()
    {
        var inbox = Path.Combine(_dir, "sizes");
        Directory.CreateDirectory(inbox);
        File.Copy(Path.Combine(TestData.DemoInbox, "01-simple-order.eml"), Path.Combine(inbox, "small.eml"));
        var big = Path.Combine(inbox, "big.eml");
        File.WriteAllText(big, "From: a@example.com\r\nSubject: big\r\n\r\n" + new string('x', 4096));
        var secret = Path.Combine(_dir, "secret.txt");
        File.WriteAllText(secret, "From: a@example.com\r\nSubject: not for the bot\r\n\r\nSKU-1001 x 1\r\n");
        File.CreateSymbolicLink(Path.Combine(inbox, "link.eml"), secret);
        var source = new FolderSource(inbox, TimeSpan.FromMilliseconds(50), 2048, NullLogger<FolderSource>.Instance);
        var context = Context();
        using var stop = new CancellationTokenSource();
        var run = source.RunAsync(context, stop.Token);

        await Eventually.TrueAsync(() => source.Scans >= 2, "the folder is scanned");

        Assert.Equal("file:small.eml", Assert.Single(context.Published).Id);
        Assert.Equal(1, source.TooLarge);
        Assert.Equal(["big.eml", "link.eml"], Directory.GetFiles(Path.Combine(inbox, "failed")).Select(Path.GetFileName).Order());
        Assert.True(File.Exists(secret), "the link's target is never moved");
        await stop.CancelAsync();
        await run;
    }
}
