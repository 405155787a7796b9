using System.Net;
using AppRuntime;
using Microsoft.Extensions.Configuration;
using MimeKit;

namespace PaymentNotifier.Module;

/// <summary>How notices and digests leave the application.</summary>
public enum DeliveryMode
{
    /// <summary>Written as <c>.eml</c> files to <c>PaymentNotifier:Delivery:PickupPath</c> (the embedded default: no server needed).</summary>
    Pickup = 0,

    /// <summary>Sent to the SMTP server of <c>PaymentNotifier:Smtp</c>.</summary>
    Smtp = 1,
}

/// <summary>How the SMTP connection is secured.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain text: refused for a host that is not loopback unless <c>AllowInsecure</c>.</summary>
    None = 0,

    /// <summary>STARTTLS, required (default).</summary>
    StartTls = 1,

    /// <summary>TLS from the first byte (port 465).</summary>
    SslOnConnect = 2,
}

/// <summary>Where the notifier's records are stored.</summary>
public enum StoreProvider
{
    /// <summary>An embedded SQLite file (<c>PaymentNotifier:Store:Path</c>).</summary>
    Sqlite = 0,

    /// <summary>A PostgreSQL database (<c>PaymentNotifier:Store:ConnectionString</c>), shared by instances on several machines.</summary>
    PostgreSql = 1,
}

/// <summary>
/// The notifier's settings: the <c>PaymentNotifier</c> configuration section. Every value is checked at start, together with the
/// runtime's own (the webhook secrets <c>AppRuntime:Webhooks:Sources:payments:Secrets</c>, the digest's schedule
/// <c>AppRuntime:Sources:daily-digest:Cron</c> and <c>:TimeZone</c>), and every error is reported at once.
/// </summary>
[ConfigSection("PaymentNotifier")]
public sealed partial class PaymentNotifierSettings
{
    /// <summary>The sender of notices and digests, such as <c>Billing &lt;billing@example.com&gt;</c>.</summary>
    public string Sender { get; init; } = "Example Billing <billing@example.com>";

    /// <summary>Who receives the daily digest.</summary>
    public string FinanceAddress { get; init; } = "finance@example.com";

    /// <summary>
    /// The base of the link in a notice where the customer pays again (absolute http or https). The notice links to
    /// <c>&lt;base&gt;/invoices/&lt;invoice&gt;/pay?attempt=&lt;n&gt;</c>.
    /// </summary>
    public string RetryLinkBase { get; init; } = "https://pay.example.com";

    /// <summary>How notices leave: <c>Pickup</c> (default) or <c>Smtp</c>.</summary>
    public DeliverySettings Delivery { get; init; } = new();

    /// <summary>The SMTP server (used when <c>Delivery:Mode</c> is <c>Smtp</c>).</summary>
    public SmtpSettings Smtp { get; init; } = new();

    /// <summary>The store.</summary>
    public StoreSettings Store { get; init; } = new();

    /// <summary>The worker counts of the two busy pools (the runtime binds these keys: <c>Workers:Events</c>, <c>Workers:Notices</c>).</summary>
    public WorkerSettings Workers { get; init; } = new();

    /// <summary>A path from these settings (the store file, the pickup folder): relative paths start at the application's directory.</summary>
    public static string ResolvePath(string path) => System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(AppContext.BaseDirectory, path));

    /// <summary>The sender as a mailbox; the configuration check has refused anything else before this is read.</summary>
    public MailboxAddress SenderMailbox => MailboxAddress.Parse(Sender);

    /// <summary>The finance address as a mailbox.</summary>
    public MailboxAddress FinanceMailbox => MailboxAddress.Parse(FinanceAddress);

    /// <summary>The rules across members: addresses that parse, an absolute retry link, a usable SMTP server, a known store.</summary>
    partial void ValidateConfig(IConfigurationSection section, ConfigErrors errors)
    {
        CheckAddress(section, nameof(Sender), Sender, errors);
        CheckAddress(section, nameof(FinanceAddress), FinanceAddress, errors);
        if (!Uri.TryCreate(RetryLinkBase, UriKind.Absolute, out var link) || link.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(link.Query)
            || !string.IsNullOrEmpty(link.Fragment) || !string.IsNullOrEmpty(link.UserInfo))
            errors.Add(section.GetSection(nameof(RetryLinkBase)).Path, $"'{RetryLinkBase}' is not an absolute http or https URL without a query, fragment or user (e.g. https://pay.example.com).");
        Store.Validate(section.GetSection(nameof(Store)), errors);
        if (Delivery.Mode == DeliveryMode.Smtp)
        {
            Smtp.Validate(section.GetSection(nameof(Smtp)), errors);
            // A send is about eight SMTP commands, each up to Smtp:Timeout: a claim must outlast a slow send, or a second worker
            // takes it over while the first is still sending.
            if (Delivery.ClaimTimeout < 4 * Smtp.Timeout)
                errors.Add(section.GetSection("Delivery:ClaimTimeout").Path, $"({Delivery.ClaimTimeout}) must be at least 4 × {section.GetSection("Smtp:Timeout").Path} ({4 * Smtp.Timeout}).");
        }
        else if (string.IsNullOrWhiteSpace(Delivery.PickupPath))
            errors.Add(section.GetSection("Delivery:PickupPath").Path, "is required when Delivery:Mode is Pickup.");
    }

    private static void CheckAddress(IConfigurationSection section, string key, string value, ConfigErrors errors)
    {
        if (!MailboxAddress.TryParse(value, out var mailbox) || string.IsNullOrEmpty(mailbox.Domain))
            errors.Add(section.GetSection(key).Path, $"'{value}' is not an email address (e.g. billing@example.com or \"Billing <billing@example.com>\").");
    }
}

/// <summary><c>PaymentNotifier:Delivery</c>.</summary>
public sealed partial class DeliverySettings
{
    /// <summary><c>Pickup</c> (default) or <c>Smtp</c>.</summary>
    public DeliveryMode Mode { get; init; } = DeliveryMode.Pickup;

    /// <summary>The pickup folder; relative paths start at the application's directory.</summary>
    public string PickupPath { get; init; } = "pickup";

    /// <summary>
    /// How long a worker's claim on a notice or digest keeps other workers from sending it (default 2 minutes). A claim older than
    /// this that was never marked sent (the send failed, or the process died during it) is taken over and sent again, with the same
    /// Message-ID. Longer than the longest send (<c>Smtp:Timeout</c> per command).
    /// </summary>
    [TimeRange("00:00:01", "1.00:00:00")]
    public TimeSpan ClaimTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary><c>PaymentNotifier:Smtp</c>.</summary>
public sealed partial class SmtpSettings
{
    /// <summary>The SMTP server.</summary>
    public string Host { get; init; } = "";

    /// <summary>The port (default 587, submission).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 65535)]
    public int Port { get; init; } = 587;

    /// <summary><c>StartTls</c> (default), <c>SslOnConnect</c> or <c>None</c>.</summary>
    public SmtpSecurity Security { get; init; } = SmtpSecurity.StartTls;

    /// <summary>Allows <c>Security=None</c> (plain text) to a host that is not loopback (default false).</summary>
    public bool AllowInsecure { get; init; }

    /// <summary>The login name; none: no authentication.</summary>
    public string Username { get; init; } = "";

    /// <summary>The password (required with a login name). A secret: never logged or shown.</summary>
    [Secret]
    public string Password { get; init; } = "";

    /// <summary>How long one SMTP command may take before the send fails (and is retried).</summary>
    [TimeRange("00:00:01", "00:10:00")]
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate(IConfigurationSection section, ConfigErrors errors)
    {
        var hostKey = section.GetSection(nameof(Host)).Path;
        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add(hostKey, "is required when PaymentNotifier:Delivery:Mode is Smtp.");
            return;
        }
        if (Security == SmtpSecurity.None && !AllowInsecure && !IsLoopback(Host))
        {
            errors.Add(section.GetSection(nameof(Security)).Path,
                $"is None (plain text) but {hostKey} '{Host}' is not a loopback host: credentials and every notice would cross the network " +
                $"unencrypted. Use StartTls or SslOnConnect, or set {section.GetSection(nameof(AllowInsecure)).Path}=true for a relay on a network you trust.");
        }
        if (!string.IsNullOrEmpty(Username) && string.IsNullOrEmpty(Password))
            errors.Add(section.GetSection(nameof(Password)).Path, $"is required when {section.GetSection(nameof(Username)).Path} is set.");
        if (string.IsNullOrEmpty(Username) && !string.IsNullOrEmpty(Password))
            errors.Add(section.GetSection(nameof(Username)).Path, $"is required when {section.GetSection(nameof(Password)).Path} is set (without it the password would be ignored).");
    }

    /// <summary>True for <c>localhost</c> and loopback IP addresses.</summary>
    public static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}

/// <summary><c>PaymentNotifier:Store</c>.</summary>
public sealed partial class StoreSettings
{
    /// <summary><c>Sqlite</c> (default) or <c>PostgreSql</c>, ignoring case.</summary>
    public string Provider { get; init; } = nameof(StoreProvider.Sqlite);

    /// <summary>The SQLite file; relative paths start at the application's directory.</summary>
    public string Path { get; init; } = "payment-notifier.db";

    /// <summary>The PostgreSQL connection string (Npgsql keywords), required for <c>PostgreSql</c>. A secret: never shown.</summary>
    [Secret]
    public string ConnectionString { get; init; } = "";

    /// <summary>How long a SQLite write waits for another writer's lock before it fails (and the task is retried).</summary>
    [TimeRange("00:00:00.100", "00:10:00")]
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The provider named by <see cref="Provider"/>; the configuration check has refused any other name before this is read.</summary>
    public StoreProvider ProviderKind => TryParseProvider(Provider, out var kind)
        ? kind
        : throw new InvalidOperationException($"PaymentNotifier:Store:Provider must be Sqlite or PostgreSql (was '{Provider}').");

    /// <summary>Reads a provider name, ignoring case.</summary>
    public static bool TryParseProvider(string? text, out StoreProvider provider)
    {
        provider = StoreProvider.Sqlite;
        if (string.Equals(text?.Trim(), nameof(StoreProvider.Sqlite), StringComparison.OrdinalIgnoreCase))
            return true;
        provider = StoreProvider.PostgreSql;
        return string.Equals(text?.Trim(), nameof(StoreProvider.PostgreSql), StringComparison.OrdinalIgnoreCase);
    }

    internal void Validate(IConfigurationSection section, ConfigErrors errors)
    {
        var providerKey = section.GetSection(nameof(Provider)).Path;
        if (!TryParseProvider(Provider, out var provider))
        {
            errors.Add(providerKey, $"'{Provider}' is not a store provider; use Sqlite or PostgreSql.");
            return;
        }
        if (provider == StoreProvider.Sqlite)
        {
            if (string.IsNullOrWhiteSpace(Path))
                errors.Add(section.GetSection(nameof(Path)).Path, $"is required when {providerKey} is Sqlite.");
            return;
        }
        var connectionKey = section.GetSection(nameof(ConnectionString)).Path;
        if (string.IsNullOrWhiteSpace(ConnectionString))
            errors.Add(connectionKey, $"is required when {providerKey} is PostgreSql (e.g. Host=db.example;Database=payments;Username=notifier;Password=...).");
        else if (Services.PaymentStore.CheckPostgreSqlConnectionString(ConnectionString) is { } problem)
            errors.Add(connectionKey, problem);
    }
}

/// <summary><c>PaymentNotifier:Workers</c>: read by the runtime as the pools' worker-count keys.</summary>
public sealed partial class WorkerSettings
{
    /// <summary>Workers of the <c>payment-events</c> pool.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 256)]
    public int Events { get; init; } = 4;

    /// <summary>Workers of the <c>notices</c> pool.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 256)]
    public int Notices { get; init; } = 2;
}
