using AppRuntime;
using AppRuntime.Mail;

namespace MailOrderBot.Module;

/// <summary>Where the bot's emails come from.</summary>
public enum SourceMode
{
    /// <summary><c>.eml</c> files in <c>MailOrderBot:Folder:Path</c>.</summary>
    Folder = 0,

    /// <summary>An IMAP folder searched every poll interval.</summary>
    ImapPolling = 1,

    /// <summary>An IMAP folder watched with IDLE.</summary>
    ImapIdle = 2,
}

/// <summary>
/// The bot's settings: the <c>MailOrderBot</c> configuration section. (<c>MailOrderBot:Workers</c> belongs to the runtime: it is
/// the worker pool's <c>WorkersConfigKey</c>.)
/// </summary>
[ConfigSection("MailOrderBot")]
public sealed partial class MailOrderBotSettings
{
    /// <summary>Which source runs.</summary>
    public SourceSettings Source { get; init; } = new();

    /// <summary>The folder source's settings.</summary>
    public FolderSettings Folder { get; init; } = new();

    /// <summary>The IMAP sources' settings.</summary>
    public ImapSettings Imap { get; init; } = new();

    /// <summary>The order store's settings.</summary>
    public StoreSettings Store { get; init; } = new();

    /// <summary>The products, by SKU (matched case-insensitively).</summary>
    public Dictionary<string, ProductSettings> Catalog { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The rules that span members, checked by the generated binder with every other configuration value (at start and on
    /// reload): an IMAP mode needs the IMAP server and login.
    /// </summary>
    partial void ValidateConfig(Microsoft.Extensions.Configuration.IConfigurationSection section, ConfigErrors errors)
    {
        Store.Validate(section.GetSection("Store"), errors);
        if (Source.Mode is not (SourceMode.ImapPolling or SourceMode.ImapIdle))
            return;
        var mode = section.GetSection("Source:Mode").Path;
        if (string.IsNullOrWhiteSpace(Imap.Host))
            errors.Add(section.GetSection("Imap:Host").Path, $"is required when {mode} is {Source.Mode}.");
        if (string.IsNullOrWhiteSpace(Imap.Username))
            errors.Add(section.GetSection("Imap:Username").Path, $"is required when {mode} is {Source.Mode}.");
        if (Imap.Security == ImapSecurity.None && !Imap.AllowInsecure && !string.IsNullOrWhiteSpace(Imap.Host) && !ImapOptions.IsLoopbackHost(Imap.Host))
        {
            errors.Add(section.GetSection("Imap:Security").Path,
                $"is None (plain text) but {section.GetSection("Imap:Host").Path} '{Imap.Host}' is not a loopback host: the password and every " +
                $"email would cross the network unencrypted. Use StartTls or SslOnConnect, or set {section.GetSection("Imap:AllowInsecure").Path}=true " +
                "for a server on a network you trust.");
        }
    }
}

/// <summary><c>MailOrderBot:Source</c>.</summary>
public sealed partial class SourceSettings
{
    /// <summary><c>Folder</c>, <c>ImapPolling</c> or <c>ImapIdle</c>.</summary>
    public SourceMode Mode { get; init; } = SourceMode.Folder;
}

/// <summary><c>MailOrderBot:Folder</c>.</summary>
public sealed partial class FolderSettings
{
    /// <summary>The directory of <c>.eml</c> files; relative paths start at the application's directory.</summary>
    public string Path { get; init; } = "demo-inbox";

    /// <summary>Time between scans of the directory.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The largest <c>.eml</c> file, in bytes, that is read (default 25 MiB); a larger one goes to <c>failed/</c> unread.</summary>
    [System.ComponentModel.DataAnnotations.Range(1024, int.MaxValue)]
    public long MaxMessageSize { get; init; } = ImapOptions.DefaultMaxMessageSize;
}

/// <summary><c>MailOrderBot:Imap</c>.</summary>
public sealed partial class ImapSettings
{
    /// <summary>The IMAP server.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The IMAP port.</summary>
    public int Port { get; init; } = 143;

    /// <summary><c>None</c>, <c>SslOnConnect</c> or <c>StartTls</c>. <c>None</c> is refused for a host that is not loopback unless <see cref="AllowInsecure"/>.</summary>
    public ImapSecurity Security { get; init; } = ImapSecurity.StartTls;

    /// <summary>Allows <c>Security=None</c> (plain text) to a host that is not loopback (default false).</summary>
    public bool AllowInsecure { get; init; }

    /// <summary>The login name.</summary>
    public string Username { get; init; } = "";

    /// <summary>The password.</summary>
    [Secret]
    public string Password { get; init; } = "";

    /// <summary>The folder to watch.</summary>
    public string Folder { get; init; } = "INBOX";

    /// <summary>Time between searches when polling.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one IDLE lasts before it is re-issued.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(9);

    /// <summary>The keyword added to emails whose processing failed for good.</summary>
    public string FailedKeyword { get; init; } = ImapOptions.DefaultFailedKeyword;

    /// <summary>How often stored outcomes are checked on the server and missing flags stored again.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a published email may stay unread before the source asks the queue whether its task is still pending; when another
    /// instance settled it and its \Seen did not reach the server, the email is published again and the flag stored then.
    /// </summary>
    [TimeRange("00:00:01", "1.00:00:00")]
    public TimeSpan PendingCheckAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the outcome of an email is remembered (and its flag kept) before an unread copy is processed again.</summary>
    public TimeSpan OutcomeRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>The largest email, in bytes, that is downloaded; a larger one is flagged failed and left unread.</summary>
    [System.ComponentModel.DataAnnotations.Range(1024, int.MaxValue)]
    public long MaxMessageSize { get; init; } = ImapOptions.DefaultMaxMessageSize;

    /// <summary>The adapter's options for these settings.</summary>
    public ImapOptions ToOptions() => new()
    {
        Host = Host,
        Port = Port,
        Security = Security,
        AllowInsecure = AllowInsecure,
        Username = Username,
        Password = Password,
        Folder = Folder,
        PollInterval = PollInterval,
        IdleTimeout = IdleTimeout,
        FailedKeyword = FailedKeyword,
        ReconcileInterval = ReconcileInterval,
        PendingCheckAfter = PendingCheckAfter,
        OutcomeRetention = OutcomeRetention,
        MaxMessageSize = MaxMessageSize,
    };
}

/// <summary>Where the bot's orders are stored.</summary>
public enum StoreProvider
{
    /// <summary>An embedded SQLite file (<c>MailOrderBot:Store:Path</c>), shared by processes on one machine.</summary>
    Sqlite = 0,

    /// <summary>A PostgreSQL database (<c>MailOrderBot:Store:ConnectionString</c>), shared by instances on several machines.</summary>
    PostgreSql = 1,
}

/// <summary><c>MailOrderBot:Store</c>.</summary>
public sealed partial class StoreSettings
{
    /// <summary>The names <see cref="Provider"/> accepts (ignoring case).</summary>
    public const string ProviderNames = "Sqlite or PostgreSql";

    /// <summary>
    /// <c>Sqlite</c> (default: the embedded file <see cref="Path"/>) or <c>PostgreSql</c> (the database of
    /// <see cref="ConnectionString"/>, shared by instances on several machines). Ignoring case.
    /// </summary>
    public string Provider { get; init; } = nameof(StoreProvider.Sqlite);

    /// <summary>The PostgreSQL connection string (Npgsql keywords), required when <see cref="Provider"/> is <c>PostgreSql</c>. A secret: never shown.</summary>
    [Secret]
    public string ConnectionString { get; init; } = "";

    /// <summary>The provider named by <see cref="Provider"/>; the configuration check has refused any other name before this is read.</summary>
    public StoreProvider ProviderKind => TryParseProvider(Provider, out var kind)
        ? kind
        : throw new InvalidOperationException($"MailOrderBot:Store:Provider must be {ProviderNames} (was '{Provider}').");

    /// <summary>The SQLite file; relative paths start at the application's directory.</summary>
    public string Path { get; init; } = "mail-orders.db";

    /// <summary>How long a write waits for a lock held by another writer before it fails (and the task is retried).</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest rejection reason stored and logged, in characters (default 1024). An email with thousands of bad lines would
    /// otherwise make a reason of megabytes; a cut reason ends with <c>… [truncated: N characters in all]</c>.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(TextLimits.MinimumLength, 1024 * 1024)]
    public int MaxReasonLength { get; init; } = TextLimits.DefaultMaxReasonLength;

    /// <summary>The longest customer name and address stored and logged, in characters (default 256); longer ones are cut the same way.</summary>
    [System.ComponentModel.DataAnnotations.Range(TextLimits.MinimumLength, 1024 * 1024)]
    public int MaxFieldLength { get; init; } = 256;

    /// <summary>Reads a provider name (ignoring case; names only, no numbers).</summary>
    public static bool TryParseProvider(string? text, out StoreProvider provider)
    {
        provider = StoreProvider.Sqlite;
        if (string.Equals(text?.Trim(), nameof(StoreProvider.Sqlite), StringComparison.OrdinalIgnoreCase))
            return true;
        provider = StoreProvider.PostgreSql;
        return string.Equals(text?.Trim(), nameof(StoreProvider.PostgreSql), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The store's rules: a known provider; PostgreSQL needs a connection string Npgsql can read.</summary>
    internal void Validate(Microsoft.Extensions.Configuration.IConfigurationSection section, ConfigErrors errors)
    {
        var providerKey = section.GetSection(nameof(Provider)).Path;
        if (!TryParseProvider(Provider, out var provider))
        {
            errors.Add(providerKey, $"'{Provider}' is not a store provider; use {ProviderNames}.");
            return;
        }
        if (provider != StoreProvider.PostgreSql)
            return;
        var connectionKey = section.GetSection(nameof(ConnectionString)).Path;
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add(connectionKey, $"is required when {providerKey} is PostgreSql (e.g. Host=db.example;Database=orders;Username=bot;Password=...).");
            return;
        }
        if (Services.PostgreSqlOrderStore.CheckConnectionString(ConnectionString) is { } problem)
            errors.Add(connectionKey, problem);
    }
}

/// <summary>One catalogue entry, <c>MailOrderBot:Catalog:&lt;SKU&gt;</c>.</summary>
public sealed partial class ProductSettings
{
    /// <summary>The product name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The unit price in the shop's currency.</summary>
    public decimal Price { get; init; }
}
