using System.ComponentModel.DataAnnotations;
using AppRuntime;

namespace Company.Service1;

/// <summary>
/// The <c>Service</c> configuration section, bound by generated code and checked with every other setting at start (and, for the
/// values in appsettings*.json, at build time).
/// </summary>
[ConfigSection("Service")]
public sealed partial class ServiceSettings
{
#if (timer)
    /// <summary>Time between two batches of work items.</summary>
    [TimeRange("00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Work items per batch.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 5;
#else
    /// <summary>The IMAP server.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The IMAP port.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 143;

    /// <summary><c>None</c>, <c>SslOnConnect</c> or <c>StartTls</c>.</summary>
    public AppRuntime.Mail.ImapSecurity Security { get; set; } = AppRuntime.Mail.ImapSecurity.StartTls;

    /// <summary>The login.</summary>
    public string Username { get; set; } = "";

    /// <summary>The password (never logged or shown).</summary>
    [Secret]
    public string Password { get; set; } = "";

    /// <summary>The folder to read.</summary>
    public string Folder { get; set; } = "INBOX";

    /// <summary>Time between two searches for unseen mail.</summary>
    [TimeRange("00:00:01", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);
#endif
}
