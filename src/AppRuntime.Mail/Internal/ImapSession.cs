using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;

namespace AppRuntime.Mail.Internal;

/// <summary>One authenticated IMAP connection with the watched folder open.</summary>
internal sealed class ImapSession : IAsyncDisposable, IDisposable
{
    private ImapSession(ImapClient client, IMailFolder folder)
    {
        Client = client;
        Folder = folder;
    }

    public ImapClient Client { get; }

    public IMailFolder Folder { get; }

    public uint UidValidity => Folder.UidValidity;

    public bool SupportsIdle => Client.Capabilities.HasFlag(ImapCapabilities.Idle);

    public bool IsUsable => Client.IsConnected && Client.IsAuthenticated && Folder.IsOpen;

    /// <summary>Connects with the configured security, logs in and opens the folder.</summary>
    public static async Task<ImapSession> OpenAsync(ImapOptions options, FolderAccess access, CancellationToken cancellationToken)
    {
        var client = new ImapClient { Timeout = (int)Math.Min(int.MaxValue, options.CommandTimeout.TotalMilliseconds) };
        if (options.CertificateValidation is not null)
            client.ServerCertificateValidationCallback = options.CertificateValidation;
        try
        {
            await client.ConnectAsync(options.Host, options.Port, ToSocketOptions(options.Security), cancellationToken).ConfigureAwait(false);
            await client.AuthenticateAsync(options.Username, options.Password, cancellationToken).ConfigureAwait(false);
            var folder = string.Equals(options.Folder, "INBOX", StringComparison.OrdinalIgnoreCase)
                ? client.Inbox
                : await client.GetFolderAsync(options.Folder, cancellationToken).ConfigureAwait(false);
            await folder.OpenAsync(access, cancellationToken).ConfigureAwait(false);
            return new ImapSession(client, folder);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public static SecureSocketOptions ToSocketOptions(ImapSecurity security) => security switch
    {
        ImapSecurity.None => SecureSocketOptions.None,
        ImapSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
        ImapSecurity.StartTls => SecureSocketOptions.StartTls,
        _ => throw new ArgumentOutOfRangeException(nameof(security), security, "Unknown IMAP security mode."),
    };

    public void Dispose() => Client.Dispose();

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Client.IsConnected)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await Client.DisconnectAsync(true, timeout.Token).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Closing a connection that may already be broken: any failure just means it is gone.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            Client.Dispose();
        }
    }
}
