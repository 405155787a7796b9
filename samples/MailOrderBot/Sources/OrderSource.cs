using AppRuntime;
using AppRuntime.Mail;
using MailOrderBot.Module;
using Microsoft.Extensions.Logging;

namespace MailOrderBot.Sources;

/// <summary>
/// The source of the order queue, chosen by <c>MailOrderBot:Source:Mode</c>: <see cref="FolderSource"/>,
/// <see cref="ImapPollingSource"/> or <see cref="ImapIdleSource"/>. All three publish <see cref="ImapMessage"/> tasks and complete
/// them at their origin, so the queue, the worker pool and the handler stay the same when the source changes.
/// Like the IMAP sources it wraps, it is exclusive (<see cref="IExclusiveTaskSource"/>): when several instances share the queue on
/// Redis, one of them reads the mailbox (or directory) and the others stand by.
/// </summary>
[TaskSource("orders", Name = "inbox")]
public sealed class OrderSource : ITaskSource<ImapMessage>, ITaskOutcomeObserver<ImapMessage>, IExclusiveTaskSource, IAsyncDisposable, IDisposable
{
    private readonly ITaskSource<ImapMessage> _inner;
    private readonly ITaskOutcomeObserver<ImapMessage> _observer;

    /// <summary>Creates the source the settings ask for.</summary>
    public OrderSource(MailOrderBotSettings settings, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Mode = settings.Source.Mode;
        switch (Mode)
        {
            case SourceMode.Folder:
                var folder = new FolderSource(ResolvePath(settings.Folder.Path), settings.Folder.PollInterval, settings.Folder.MaxMessageSize,
                    loggerFactory.CreateLogger<FolderSource>());
                (_inner, _observer, Folder) = (folder, folder, folder);
                // Two processes moving the same files would race; processes on other machines read another directory.
                ExclusiveResource = $"file://{Environment.MachineName.ToLowerInvariant()}{folder.Directory}";
                break;
            case SourceMode.ImapPolling:
                var polling = new ImapPollingSource(settings.Imap.ToOptions(), loggerFactory.CreateLogger<ImapPollingSource>(), timeProvider);
                (_inner, _observer) = (polling, polling);
                ExclusiveResource = polling.ExclusiveResource;
                break;
            case SourceMode.ImapIdle:
                var idle = new ImapIdleSource(settings.Imap.ToOptions(), loggerFactory.CreateLogger<ImapIdleSource>(), timeProvider);
                (_inner, _observer) = (idle, idle);
                ExclusiveResource = idle.ExclusiveResource;
                break;
            default:
                throw new ArgumentException($"MailOrderBot:Source:Mode must be Folder, ImapPolling or ImapIdle (was {(int)Mode}).", nameof(settings));
        }
    }

    /// <summary>
    /// What the source reads, the resource of its leadership: the IMAP source's own (<c>imap://host:port/user/folder</c>), or
    /// <c>file://machine/directory</c> for the folder source. Without it the runtime would not know the wrapped IMAP source is
    /// exclusive, and every instance sharing the queue would read the mailbox and publish every email.
    /// </summary>
    public string ExclusiveResource { get; }

    /// <summary>The mode in use.</summary>
    public SourceMode Mode { get; }

    /// <summary>The folder source when <see cref="Mode"/> is <see cref="SourceMode.Folder"/>, else null.</summary>
    public FolderSource? Folder { get; }

    /// <inheritdoc />
    public Task RunAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken) => _inner.RunAsync(context, cancellationToken);

    /// <inheritdoc />
    public ValueTask OnSucceededAsync(TaskEnvelope<ImapMessage> envelope, CancellationToken cancellationToken) =>
        _observer.OnSucceededAsync(envelope, cancellationToken);

    /// <inheritdoc />
    public ValueTask OnDeadLetteredAsync(TaskEnvelope<ImapMessage> envelope, string reason, CancellationToken cancellationToken) =>
        _observer.OnDeadLetteredAsync(envelope, reason, cancellationToken);

    /// <summary>Closes the inner source's connections.</summary>
    public ValueTask DisposeAsync() => _inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>Closes the inner source's connections without waiting for a clean logout.</summary>
    public void Dispose() => (_inner as IDisposable)?.Dispose();

    /// <summary>The folder source's directory: relative paths start at the application's directory.</summary>
    internal static string ResolvePath(string path) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(AppContext.BaseDirectory, path));
}
