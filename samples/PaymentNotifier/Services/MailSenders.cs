using System.Net.Sockets;
using AppRuntime;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using PaymentNotifier.Module;

namespace PaymentNotifier.Services;

/// <summary>Sends one message; a failure is thrown as <see cref="RetryTaskException"/> (try again later) or <see cref="PermanentTaskException"/> (never).</summary>
public interface IMailSender
{
    /// <summary>Where messages go, for logs and summaries.</summary>
    string Description { get; }

    /// <summary>Sends <paramref name="message"/>.</summary>
    Task SendAsync(MimeMessage message, CancellationToken cancellationToken);
}

/// <summary>Chooses the sender of <c>PaymentNotifier:Delivery:Mode</c>.</summary>
[Service(As = typeof(IMailSender))]
public sealed class ConfiguredMailSender(PaymentNotifierSettings settings, ILogger<ConfiguredMailSender> logger) : IMailSender
{
    private readonly IMailSender _inner = settings.Delivery.Mode == DeliveryMode.Smtp
        ? new SmtpMailSender(settings.Smtp, logger)
        : new PickupFolderSender(PaymentStore.ResolvePath(settings.Delivery.PickupPath));

    /// <inheritdoc />
    public string Description => _inner.Description;

    /// <inheritdoc />
    public Task SendAsync(MimeMessage message, CancellationToken cancellationToken) => _inner.SendAsync(message, cancellationToken);
}

/// <summary>
/// Sends by SMTP with MailKit, one connection per message. The server's answer decides what happens to the task:
/// <list type="bullet">
/// <item>4xx (<c>451 Try again later</c>, greylisting, a full queue) and connection failures: <see cref="RetryTaskException"/>, so the
/// pool retries with backoff and dead-letters after its last attempt;</item>
/// <item>5xx (<c>550 No such user</c>, a refused sender or message): <see cref="PermanentTaskException"/> with the server's reply, so
/// the notice is dead-lettered at once where an operator sees why.</item>
/// </list>
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
            await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (SmtpCommandException ex)
        {
            var reply = Describe(ex);
            if ((int)ex.StatusCode >= 500)
                throw new PermanentTaskException($"The SMTP server {settings.Host}:{settings.Port} refused message {message.MessageId} for good: {reply}", ex);
            throw new RetryTaskException($"The SMTP server {settings.Host}:{settings.Port} deferred message {message.MessageId}: {reply}", null, ex);
        }
        catch (AuthenticationException ex)
        {
            Log.LoginRefused(logger, settings.Host, settings.Port, settings.Username, ex.Message);
            throw new RetryTaskException($"The SMTP server {settings.Host}:{settings.Port} refused the login of '{settings.Username}': {ex.Message}", null, ex);
        }
        catch (Exception ex) when (ex is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException or SslHandshakeException
                                       || (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested))
        {
            throw new RetryTaskException($"Could not send message {message.MessageId} to {settings.Host}:{settings.Port}: {ex.Message}", null, ex);
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
    }
}

/// <summary>
/// Writes each message as <c>&lt;pickup folder&gt;/&lt;Message-ID&gt;.eml</c> (written to a temporary name and renamed, so a reader
/// never sees half a file; the same message written twice is one file).
/// </summary>
public sealed class PickupFolderSender(string path) : IMailSender
{
    /// <inheritdoc />
    public string Description => "pickup folder " + path;

    /// <summary>The folder.</summary>
    public string Path => path;

    /// <inheritdoc />
    public async Task SendAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        Directory.CreateDirectory(path);
        var name = FileName(message.MessageId ?? throw new ArgumentException("The message has no Message-ID.", nameof(message)));
        var temporary = System.IO.Path.Combine(path, $".{name}.{Guid.NewGuid():N}.tmp");
        await using (var stream = File.Create(temporary))
            await message.WriteToAsync(stream, cancellationToken);
        File.Move(temporary, System.IO.Path.Combine(path, name), overwrite: true);
    }

    /// <summary>A file name made of the Message-ID's letters, digits, '.', '-' and '_'.</summary>
    internal static string FileName(string messageId)
    {
        var chars = messageId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').ToArray();
        return new string(chars) + ".eml";
    }
}
