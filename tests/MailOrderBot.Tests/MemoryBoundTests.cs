using System.Globalization;
using System.Text;
using AppRuntime.TestSupport;
using MailKit;
using Xunit.Abstractions;

namespace MailOrderBot.Tests;

/// <summary>
/// Issue #19, finding 1: ten 100 MB emails, over the 25 MiB default limit, fed to the bot running as a process (folder source, then
/// IMAP polling against Dovecot). Each is rejected without ever being loaded (moved to failed/, or flagged $AppRuntimeFailed as seen
/// by the test's own IMAP session), and the process's peak resident set size (the kernel's high-water mark, VmHWM) stays under
/// 300 MiB.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MemoryBoundTests(ITestOutputHelper output) : IDisposable
{
    private const int Emails = 10;
    private const long EmailBytes = 100L * 1000 * 1000;
    private const long PeakLimitBytes = 300L * 1024 * 1024;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"membound-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Ten_100_MB_files_are_moved_to_failed_unread_and_peak_memory_stays_under_300_MiB()
    {
        var inbox = Path.Combine(_dir, "inbox");
        Directory.CreateDirectory(inbox);
        for (var i = 0; i < Emails; i++)
        {
            // A real email header, then a body that makes the file 100 MB (sparse: the disk is not filled, reads return zeros).
            await using var file = File.Create(Path.Combine(inbox, $"big-{i:00}.eml"));
            await file.WriteAsync(Encoding.ASCII.GetBytes(
                $"From: a@example.com\r\nTo: orders@shop.example\r\nSubject: big {i}\r\nMessage-ID: <big-{i}@test>\r\n\r\nSKU-1001 x 1\r\n"));
            file.SetLength(EmailBytes);
        }

        await using var bot = BotProcess.Start(new Dictionary<string, string>
        {
            ["MailOrderBot__Folder__Path"] = inbox,
            ["MailOrderBot__Folder__PollInterval"] = "00:00:00.200",
            ["MailOrderBot__Store__Path"] = Path.Combine(_dir, "orders.db"),
            ["AppRuntime__ControlPlane__Enabled"] = "false",
        });
        var failed = Path.Combine(inbox, "failed");
        try
        {
            await Eventually.TrueAsync(() => bot.HasExited || (Directory.Exists(failed) && Directory.GetFiles(failed).Length == Emails),
                "every file is moved to failed/", TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException) when (!bot.HasExited)
        {
            Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                $"after 120 s, {Directory.GetFiles(inbox, "*.eml").Length} of {Emails} files are still in the inbox; peak RSS {bot.PeakRssBytes() / 1024.0 / 1024.0:0.0} MiB"));
        }
        Assert.False(bot.HasExited, bot.Stdout + bot.Stderr);
        var peak = bot.PeakRssBytes();
        await bot.StopAsync(TimeSpan.FromSeconds(30));

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"folder source: {Emails} x {EmailBytes:N0} bytes, peak RSS {peak / 1024.0 / 1024.0:0.0} MiB"));
        Assert.True(peak < PeakLimitBytes, string.Create(CultureInfo.InvariantCulture, $"peak RSS {peak / 1024.0 / 1024.0:0.0} MiB"));
        Assert.Empty(Directory.GetFiles(inbox, "*.eml"));
        Assert.Contains("over the limit of 26214400 bytes (MaxMessageSize)", bot.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("accepted for", bot.Stdout, StringComparison.Ordinal); // nothing was read and handled
    }

    [Fact]
    public async Task Ten_100_MB_imap_messages_are_flagged_failed_unfetched_and_peak_memory_stays_under_300_MiB()
    {
        await ImapTestServer.EnsureRunningAsync();
        var folder = await ImapTestServer.CreateFolderAsync("membound");
        try
        {
            var body = new byte[EmailBytes];
            for (var i = 0; i < body.Length; i++)
                body[i] = (i % 78) switch { 76 => (byte)'\r', 77 => (byte)'\n', _ => (byte)'A' };
            for (var i = 0; i < Emails; i++)
            {
                var header = Encoding.ASCII.GetBytes(
                    $"From: a@example.com\r\nTo: orders@shop.example\r\nSubject: big {i}\r\nMessage-ID: <imap-big-{i}@test>\r\n\r\n");
                Array.Copy(header, body, header.Length);
                await ImapTestServer.AppendRawAsync(folder, body);
            }
            body = null;
            GC.Collect();

            await using var bot = BotProcess.Start(new Dictionary<string, string>
            {
                ["MailOrderBot__Source__Mode"] = "ImapPolling",
                ["MailOrderBot__Imap__Host"] = ImapTestServer.Host,
                ["MailOrderBot__Imap__Port"] = ImapTestServer.Port.ToString(CultureInfo.InvariantCulture),
                ["MailOrderBot__Imap__Security"] = "None",
                ["MailOrderBot__Imap__Username"] = "bot",
                ["MailOrderBot__Imap__Password"] = ImapTestServer.Password,
                ["MailOrderBot__Imap__Folder"] = folder,
                ["MailOrderBot__Imap__PollInterval"] = "00:00:00.500",
                ["MailOrderBot__Store__Path"] = Path.Combine(_dir, "orders.db"),
                ["AppRuntime__ControlPlane__Enabled"] = "false",
            });
            await Eventually.TrueAsync(async () => bot.HasExited
                    || (await ImapTestServer.FlagsAsync(folder)).Values.Count(m => m.Keywords.Contains("$AppRuntimeFailed")) == Emails,
                "every message is flagged $AppRuntimeFailed", TimeSpan.FromSeconds(120));
            Assert.False(bot.HasExited, bot.Stdout + bot.Stderr);
            var peak = bot.PeakRssBytes();
            await bot.StopAsync(TimeSpan.FromSeconds(30));

            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"IMAP polling: {Emails} x {EmailBytes:N0} bytes, peak RSS {peak / 1024.0 / 1024.0:0.0} MiB"));
            Assert.True(peak < PeakLimitBytes, string.Create(CultureInfo.InvariantCulture, $"peak RSS {peak / 1024.0 / 1024.0:0.0} MiB"));
            Assert.All((await ImapTestServer.FlagsAsync(folder)).Values, m => Assert.False(m.Flags!.Value.HasFlag(MessageFlags.Seen)));
            Assert.DoesNotContain("accepted for", bot.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            using var client = await ImapTestServer.ConnectAsync();
            await (await client.GetFolderAsync(folder)).DeleteAsync();
            await client.DisconnectAsync(true);
        }
    }
}
