using AppRuntime;
using AppRuntime.Mail;
using Microsoft.Extensions.Logging;

namespace Company.Service1.Sources;

/// <summary>
/// Fills the queue with the unseen emails of an IMAP folder (polled every <see cref="ServiceSettings.PollInterval"/>). An email is
/// marked read once its task was handled, and flagged <c>$AppRuntimeFailed</c> when it was dead-lettered.
/// </summary>
[TaskSource("work", Name = "inbox")]
public sealed class InboxSource : ITaskSource<ImapMessage>, ITaskOutcomeObserver<ImapMessage>, IAsyncDisposable
{
    private readonly ImapPollingSource _imap;

    /// <summary>Creates the source from the <c>Service</c> settings.</summary>
    public InboxSource(ServiceSettings settings, ILoggerFactory loggerFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _imap = new ImapPollingSource(new ImapOptions
        {
            Host = settings.Host,
            Port = settings.Port,
            Security = settings.Security,
            Username = settings.Username,
            Password = settings.Password,
            Folder = settings.Folder,
            PollInterval = settings.PollInterval,
        }, loggerFactory.CreateLogger<ImapPollingSource>(), timeProvider);
    }

    /// <inheritdoc />
    public Task RunAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken) => _imap.RunAsync(context, cancellationToken);

    /// <inheritdoc />
    public ValueTask OnSucceededAsync(TaskEnvelope<ImapMessage> envelope, CancellationToken cancellationToken) =>
        _imap.OnSucceededAsync(envelope, cancellationToken);

    /// <inheritdoc />
    public ValueTask OnDeadLetteredAsync(TaskEnvelope<ImapMessage> envelope, string reason, CancellationToken cancellationToken) =>
        _imap.OnDeadLetteredAsync(envelope, reason, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _imap.DisposeAsync();
}
