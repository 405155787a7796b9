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
}
