using System.Net.Sockets;
using AppRuntime;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using PaymentNotifier.Module;

namespace PaymentNotifier.Services;

/// <summary>Sends one message; a failure is thrown as <see cref="MailSendException"/>, saying whether it may be tried again and whether the message may have gone.</summary>
public interface IMailSender
{
    /// <summary>Where messages go, for logs and summaries.</summary>
    string Description { get; }

    /// <summary>Sends <paramref name="message"/>.</summary>
    /// <exception cref="MailSendException">The message was not sent, or it is not known whether it was.</exception>
    Task SendAsync(MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>A send that failed.</summary>
/// <param name="message">What happened, with the server's reply when there was one.</param>
/// <param name="permanent">True when no retry can succeed (an SMTP 5xx answer): the task is dead-lettered.</param>
/// <param name="maybeSent">
/// True when the message may have reached the server (the connection broke during or after the data): a retry must not send it
/// at once, or it could go twice. False when it certainly did not go (refused, or the failure came before the data).
/// </param>
/// <param name="inner">The cause.</param>
public sealed class MailSendException(string message, bool permanent, bool maybeSent, Exception? inner) : Exception(message, inner)
{
    /// <summary>True when no retry can succeed.</summary>
    public bool Permanent { get; } = permanent;

    /// <summary>True when the message may have reached the server.</summary>
    public bool MaybeSent { get; } = maybeSent;
}

/// <summary>Chooses the sender of <c>PaymentNotifier:Delivery:Mode</c>.</summary>
[Service(As = typeof(IMailSender))]
public sealed class ConfiguredMailSender(PaymentNotifierSettings settings, TimeProvider time, ILogger<ConfiguredMailSender> logger) : IMailSender
{
    private readonly IMailSender _inner = settings.Delivery.Mode == DeliveryMode.Smtp
        ? new SmtpMailSender(settings.Smtp, logger)
        : new PickupFolderSender(PaymentNotifierSettings.ResolvePath(settings.Delivery.PickupPath), time);

    /// <inheritdoc />
    public string Description => _inner.Description;

    /// <inheritdoc />
    public Task SendAsync(MimeMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);
}

/// <summary>
/// Sends by SMTP with MailKit, one connection per message. The server's answer decides what happens to the task:
/// <list type="bullet">
/// <item>4xx (<c>451 Try again later</c>, greylisting, a full queue) and connection failures: a retryable failure, so the pool
/// retries with backoff and dead-letters after its last attempt;</item>
/// <item>5xx (<c>550 No such user</c>, a refused sender or message): a permanent failure with the server's reply, so the notice is
/// dead-lettered at once where an operator sees why.</item>
/// </list>
/// A connection that breaks after the data started is reported as "may have been sent"; a failure to close the connection after
/// the server accepted the message is only logged.
/// A refused login is retried like a 4xx: it is the operator's configuration, not the notice, that is wrong, and the notices wait
/// for it to be fixed (each attempt logs it).
/// </summary>
public sealed partial class SmtpMailSender(SmtpSettings settings, ILogger logger) : IMailSender
{
    /// <inheritdoc />
    public string Description => $"SMTP {settings.Host}:{settings.Port} ({settings.Security})";

    /// <inheritdoc />
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var client = new SmtpClient { Timeout = (int)settings.Timeout.TotalMilliseconds };
        var where = $"{settings.Host}:{settings.Port}";
        var sending = false; // from here on, a broken connection may have delivered the message
        try
        {
            var security = settings.Security switch
            {
                SmtpSecurity.None => SecureSocketOptions.None,
                SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.StartTls,
            };
            await client.ConnectAsync(settings.Host, settings.Port, security, cancellationToken);
            if (!string.IsNullOrEmpty(settings.Username))
                await client.AuthenticateAsync(settings.Username, settings.Password, cancellationToken);
            sending = true;
            await client.SendAsync(message, cancellationToken);
        }
        catch (SmtpCommandException ex)
        {
            // The server answered with an error code: it did not take the message.
            var reply = Describe(ex);
            if ((int)ex.StatusCode >= 500)
                throw new MailSendException($"The SMTP server {where} refused message {message.MessageId} for good: {reply}", permanent: true, maybeSent: false, ex);
            throw new MailSendException($"The SMTP server {where} deferred message {message.MessageId}: {reply}", permanent: false, maybeSent: false, ex);
        }
        catch (AuthenticationException ex)
        {
            Log.LoginRefused(logger, settings.Host, settings.Port, settings.Username, ex.Message);
            throw new MailSendException($"The SMTP server {where} refused the login of '{settings.Username}': {ex.Message}", permanent: false, maybeSent: false, ex);
        }
        catch (Exception ex) when (ex is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException or SslHandshakeException
                                       || (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested))
        {
            throw new MailSendException($"Could not send message {message.MessageId} to {where}{(sending ? " (the connection broke while sending: it may have arrived)" : "")}: {ex.Message}",
                permanent: false, maybeSent: sending, ex);
        }
        catch (OperationCanceledException) when (sending)
        {
            // Stopping during the data: whether the message went is unknown.
            throw new MailSendException($"Sending message {message.MessageId} to {where} was cancelled while sending: it may have arrived", permanent: false, maybeSent: true,
                new OperationCanceledException(cancellationToken));
        }
        try
        {
            await client.DisconnectAsync(quit: true, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or SocketException or SmtpProtocolException or SmtpCommandException or TimeoutException or OperationCanceledException)
        {
            Log.QuitFailed(logger, message.MessageId ?? "(none)", where, ex.Message); // the server accepted the message before this
        }
    }

    private static string Describe(SmtpCommandException ex)
    {
        var text = (ex.Message ?? "").ReplaceLineEndings(" ").Trim();
        var reply = $"{(int)ex.StatusCode} {text}";
        return ex.Mailbox is { } mailbox ? $"{reply} (mailbox {mailbox.Address})" : reply;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Error, "The SMTP server {Host}:{Port} refused the login of '{Username}': {Reason}. Notices are retried; check PaymentNotifier:Smtp:Username and :Password.")]
        public static partial void LoginRefused(ILogger logger, string host, int port, string username, string reason);

        [LoggerMessage(2, LogLevel.Debug, "Message {MessageId} was accepted by {Server}; closing the connection failed: {Reason}")]
        public static partial void QuitFailed(ILogger logger, string messageId, string server, string reason);
    }
}

/// <summary>
/// Writes each message as a new file <c>&lt;pickup folder&gt;/&lt;UTC time&gt;-&lt;random&gt;-&lt;Message-ID&gt;.eml</c> (written to a
/// temporary name and renamed, so a reader never sees half a file). Like a mail server's pickup directory: every send is a file,
/// so a message sent twice is two files with the same Message-ID.
/// </summary>
public sealed class PickupFolderSender(string path, TimeProvider time) : IMailSender
{
    /// <inheritdoc />
    public string Description => "pickup folder " + path;

    /// <summary>The folder.</summary>
    public string Path => path;

    /// <inheritdoc />
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var id = message.MessageId ?? throw new ArgumentException("The message has no Message-ID.", nameof(message));
        var name = $"{time.GetUtcNow():yyyyMMdd'T'HHmmssfff}-{Guid.NewGuid().ToString("N")[..8]}-{FileName(id)}";
        var temporary = System.IO.Path.Combine(path, "." + name + ".tmp");
        try
        {
            Directory.CreateDirectory(path);
            await using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
                await message.WriteToAsync(stream, cancellationToken);
            File.Move(temporary, System.IO.Path.Combine(path, name));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            throw new MailSendException($"Could not write message {id} to the pickup folder {path}: {ex.Message}", permanent: false, maybeSent: false, ex);
        }
    }

    /// <summary>A file name made of the Message-ID's letters, digits, '.', '-' and '_'.</summary>
    internal static string FileName(string messageId)
    {
        var chars = messageId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray();
        return new string(chars) + ".eml";
    }
}
