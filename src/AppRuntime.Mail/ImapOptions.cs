namespace AppRuntime.Mail;

/// <summary>How the IMAP connection is secured.</summary>
public enum ImapSecurity
{
    /// <summary>
    /// Plain TCP, no TLS: the login and every email cross the network readable. Accepted for a loopback host only
    /// (<c>localhost</c>, <c>127.0.0.0/8</c>, <c>::1</c>), unless <see cref="ImapOptions.AllowInsecure"/> is set.
    /// </summary>
    None = 0,

    /// <summary>TLS from the first byte (IMAPS, usually port 993).</summary>
    SslOnConnect = 1,

    /// <summary>Plain TCP upgraded with STARTTLS before login; fails when the server does not offer it.</summary>
    StartTls = 2,
}

/// <summary>Settings of the IMAP sources (<see cref="ImapPollingSource"/>, <see cref="ImapIdleSource"/>).</summary>
public sealed record ImapOptions
{
    /// <summary>The default keyword added to a message whose task was dead-lettered.</summary>
    public const string DefaultFailedKeyword = "$AppRuntimeFailed";

    /// <summary>The server host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>The server port (143 for <see cref="ImapSecurity.None"/>/<see cref="ImapSecurity.StartTls"/>, 993 for <see cref="ImapSecurity.SslOnConnect"/>).</summary>
    public int Port { get; init; } = 143;

    /// <summary>How the connection is secured.</summary>
    public ImapSecurity Security { get; init; } = ImapSecurity.StartTls;

    /// <summary>
    /// Allows <see cref="ImapSecurity.None"/> (plain text) to a host that is not loopback. Off by default: a source with
    /// <c>Security=None</c> for any other host refuses to start, because the password and every email would cross the network
    /// unencrypted. Turn it on only for a server on a network you trust (and expect a warning at every connect).
    /// </summary>
    public bool AllowInsecure { get; init; }

    /// <summary>True when the connection sends the login and the mail in plain text to a host that is not loopback.</summary>
    public bool IsInsecureRemote => Security == ImapSecurity.None && !IsLoopbackHost(Host);

    /// <summary>The login name.</summary>
    public required string Username { get; init; }

    /// <summary>The password. Never logged.</summary>
    public required string Password { get; init; }

    /// <summary>The folder to watch.</summary>
    public string Folder { get; init; } = "INBOX";

    /// <summary>
    /// Time between searches of the polling source, and of the IDLE source when the server lacks IDLE.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one IDLE command lasts before it is re-issued; below the server's timeout (RFC 2177: 29 minutes, many servers less).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(9);

    /// <summary>Delay before the first reconnect (or re-poll) after a failure; doubles per consecutive failure.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest delay between reconnect attempts.</summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Network timeout of one IMAP command.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a published message whose outcome was never reported is kept out of new searches. After that it is published again
    /// (the handler must be idempotent, as at-least-once delivery requires anyway).
    /// </summary>
    public TimeSpan InFlightTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long a published message may stay unread before the source asks the queue whether its task is still pending (at most once
    /// per this interval, for the oldest 1,000 such messages). When it is not, another instance settled the task and its flag did
    /// not reach the server (only that instance would store it again): the message is published again, the handler recognises it
    /// (it must be idempotent) and the flag is stored then. Default 30 s.
    /// </summary>
    public TimeSpan PendingCheckAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the source looks for recorded outcomes whose flag is missing on the server and stores them again
    /// (reconciliation). It also runs after every search.
    /// </summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long the source remembers a message's outcome: meanwhile the message is never published again, and reconciliation keeps
    /// its flag on the server (a user who removes <c>\Seen</c> sees it come back). After that an unread message is published
    /// again, and the handler must recognise it (as at-least-once delivery requires anyway).
    /// </summary>
    public TimeSpan OutcomeRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// The largest message (its <c>RFC822.SIZE</c>) the source fetches. A larger one is never downloaded: it is flagged with
    /// <see cref="FailedKeyword"/> and left unread. Default 25 MiB.
    /// </summary>
    public long MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>The default of <see cref="MaxMessageSize"/>: 25 MiB.</summary>
    public const long DefaultMaxMessageSize = 25L * 1024 * 1024;

    /// <summary>The keyword added to a message whose task failed for good; such messages stay unread and are not published again.</summary>
    public string FailedKeyword { get; init; } = DefaultFailedKeyword;

    /// <summary>
    /// Validates the server's TLS certificate instead of the system's default checks (for example to pin a self-signed certificate).
    /// Null uses the default validation.
    /// </summary>
    public System.Net.Security.RemoteCertificateValidationCallback? CertificateValidation { get; init; }

    /// <summary>The resource an IMAP source reads, for leadership: <c>imap://host:port/user/folder</c> (host lower-cased).</summary>
    public string ExclusiveResource =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"imap://{Host.ToLowerInvariant()}:{Port}/{Username}/{Folder}");

    /// <summary>
    /// True when <paramref name="host"/> names this machine without a network in between: <c>localhost</c>, an IPv4 address in
    /// <c>127.0.0.0/8</c>, <c>::1</c> (bracketed or not) or an IPv4-mapped loopback address. Host names are not resolved: any other
    /// name counts as remote.
    /// </summary>
    public static bool IsLoopbackHost(string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
            return false;
        var name = host.Trim();
        if (name.StartsWith('[') && name.EndsWith(']'))
            name = name[1..^1];
        if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase) || string.Equals(name, "localhost.", StringComparison.OrdinalIgnoreCase))
            return true;
        if (!System.Net.IPAddress.TryParse(name, out var address))
            return false;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        return System.Net.IPAddress.IsLoopback(address);
    }

    /// <summary>Why plain text to <paramref name="host"/> is refused, and what to do about it.</summary>
    internal static string InsecureRemoteMessage(string host) =>
        $"ImapOptions.Security is None (plain text) for '{host}', which is not a loopback host: the password and every email would cross " +
        "the network unencrypted. Use StartTls or SslOnConnect, or set AllowInsecure = true for a server on a network you trust.";

    /// <summary>The settings for logs and diagnostics, with the password masked (a record would print it).</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"ImapOptions {{ Host = {Host}, Port = {Port}, Security = {Security}, AllowInsecure = {AllowInsecure}, Username = {Username}, Password = {ConfigRedaction.Mask}, Folder = {Folder}, MaxMessageSize = {MaxMessageSize} }}");

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
            throw new ArgumentException("ImapOptions.Host is required.");
        if (Port is <= 0 or > 65535)
            throw new ArgumentException($"ImapOptions.Port must be between 1 and 65535 (was {Port}).");
        if (!Enum.IsDefined(Security))
            throw new ArgumentException($"ImapOptions.Security must be None, SslOnConnect or StartTls (was {(int)Security}).");
        if (IsInsecureRemote && !AllowInsecure)
            throw new ArgumentException(InsecureRemoteMessage(Host));
        if (string.IsNullOrEmpty(Username))
            throw new ArgumentException("ImapOptions.Username is required.");
        if (Password is null)
            throw new ArgumentException("ImapOptions.Password is required.");
        if (string.IsNullOrWhiteSpace(Folder))
            throw new ArgumentException("ImapOptions.Folder is required.");
        if (PollInterval <= TimeSpan.Zero)
            throw new ArgumentException($"ImapOptions.PollInterval must be positive (was {PollInterval}).");
        if (IdleTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"ImapOptions.IdleTimeout must be positive (was {IdleTimeout}).");
        if (ReconnectBackoff <= TimeSpan.Zero || MaxReconnectBackoff < ReconnectBackoff)
            throw new ArgumentException("ImapOptions.ReconnectBackoff must be positive and not above MaxReconnectBackoff.");
        if (CommandTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"ImapOptions.CommandTimeout must be positive (was {CommandTimeout}).");
        if (InFlightTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"ImapOptions.InFlightTimeout must be positive (was {InFlightTimeout}).");
        if (PendingCheckAfter <= TimeSpan.Zero)
            throw new ArgumentException($"ImapOptions.PendingCheckAfter must be positive (was {PendingCheckAfter}).");
        if (ReconcileInterval <= TimeSpan.Zero)
            throw new ArgumentException($"ImapOptions.ReconcileInterval must be positive (was {ReconcileInterval}).");
        if (OutcomeRetention < ReconcileInterval)
            throw new ArgumentException($"ImapOptions.OutcomeRetention must be at least ReconcileInterval (was {OutcomeRetention}).");
        if (MaxMessageSize <= 0)
            throw new ArgumentException($"ImapOptions.MaxMessageSize must be positive (was {MaxMessageSize}).");
        if (string.IsNullOrWhiteSpace(FailedKeyword) || FailedKeyword.Any(c => char.IsWhiteSpace(c) || c is '(' or ')' or '{' or '"' or '\\' or ']' or '%' or '*'))
            throw new ArgumentException($"ImapOptions.FailedKeyword must be a valid IMAP keyword (was '{FailedKeyword}').");
    }
}
