using AppRuntime;
using MailOrderBot.Module;
using MailOrderBot.Sources;
using Microsoft.Extensions.Logging.Abstractions;

namespace MailOrderBot.Tests;

/// <summary>
/// The bot's source wrapper keeps what the runtime needs to know about the source it wraps: an IMAP source is exclusive per
/// server, user and folder, so with the queue on Redis one instance reads the mailbox and the others stand by (issue #17).
/// </summary>
public sealed class OrderSourceTests
{
    private static OrderSource Create(SourceMode mode, string folder = "INBOX", string directory = "demo-inbox") =>
        new(new MailOrderBotSettings
        {
            Source = new SourceSettings { Mode = mode },
            Imap = new ImapSettings { Host = "127.0.0.1", Port = 10143, Security = AppRuntime.Mail.ImapSecurity.None, Username = "bot", Password = "secret", Folder = folder },
            Folder = new FolderSettings { Path = directory },
        }, NullLoggerFactory.Instance, TimeProvider.System);

    [Theory]
    [InlineData(SourceMode.ImapPolling)]
    [InlineData(SourceMode.ImapIdle)]
    public void An_imap_mode_is_exclusive_on_the_imap_sources_resource(SourceMode mode)
    {
        using var source = Create(mode, folder: "Orders");

        IExclusiveTaskSource exclusive = source;
        Assert.Equal("imap://127.0.0.1:10143/bot/Orders", exclusive.ExclusiveResource);
        Assert.NotEqual(exclusive.ExclusiveResource, Create(mode, folder: "Other").ExclusiveResource);
    }

    [Fact]
    public void The_folder_mode_is_exclusive_per_machine_and_directory()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"order-source-{Guid.NewGuid():N}");
        using var source = Create(SourceMode.Folder, directory: directory);

        Assert.Equal($"file://{Environment.MachineName.ToLowerInvariant()}{Path.GetFullPath(directory)}", source.ExclusiveResource);
    }
}
