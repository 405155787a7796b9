using System.Data.Common;
using Microsoft.Extensions.Configuration;

namespace AppRuntime;

/// <summary>
/// Hides secret configuration values wherever configuration is shown (control plane, logs, error output). A key is secret when
/// it, or a section above it, is in the given set (<c>ConfigurationManager.SecretKeys</c> of AppRuntime.Core, from <c>[Secret]</c> members),
/// when its last segment looks like a credential (contains <c>Password</c>, <c>Passwd</c>, <c>Pwd</c>, <c>Secret</c>,
/// <c>Token</c>, <c>ApiKey</c>, <c>Api_Key</c>, <c>PrivateKey</c>, <c>Credential</c> or <c>ConnectionString</c>, ignoring case),
/// or when it lies under the <c>ConnectionStrings</c> section.
/// </summary>
public static class ConfigRedaction
{
    /// <summary>What a secret value is shown as.</summary>
    public const string Mask = "***";

    private static readonly string[] s_secretSegmentParts =
        ["password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "privatekey", "credential", "connectionstring"];

    private static readonly string[] s_connectionStringSecretKeys = ["password", "pwd", "psw", "passwd"];

    /// <summary>True when the value of <paramref name="key"/> must not be shown.</summary>
    /// <param name="key">A full configuration key, e.g. <c>Mail:Imap:Password</c>.</param>
    /// <param name="secretKeys">Keys declared secret (compared ignoring case); a declared section hides every key below it.</param>
    public static bool IsSecret(string key, IReadOnlySet<string>? secretKeys = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (secretKeys is { Count: > 0 } && IsDeclaredSecret(key, secretKeys))
            return true;
        var segments = key.Split(ConfigurationPath.KeyDelimiter);
        if (segments.Length > 1 && segments[0].Equals("ConnectionStrings", StringComparison.OrdinalIgnoreCase))
            return true;
        var last = segments[^1];
        foreach (var part in s_secretSegmentParts)
        {
            if (last.Contains(part, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <summary>
    /// A view of every value of <paramref name="configuration"/>, sorted by key (ignoring case), with secret values replaced by
    /// <see cref="Mask"/>. A value of any other key that carries a password (<c>password=</c>, <c>pwd=</c>, as in a connection
    /// string) shows with the password masked, or as <see cref="Mask"/> when it cannot be parsed. Sections without a value of
    /// their own are left out.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Redact(IConfiguration configuration, IReadOnlySet<string>? secretKeys)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var view = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (value is null)
                continue;
            view[key] = IsSecret(key, secretKeys) ? Mask : RedactEmbeddedPassword(value);
        }
        return view;
    }

    /// <summary>
    /// Returns <paramref name="error"/> with the current value of its key replaced by <see cref="Mask"/> in the message when the
    /// key is secret (binders often quote the value they refused).
    /// </summary>
    public static ConfigError Redact(ConfigError error, IConfiguration configuration, IReadOnlySet<string>? secretKeys)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!IsSecret(error.KeyPath, secretKeys))
            return error;
        var value = configuration[error.KeyPath];
        return string.IsNullOrEmpty(value) ? error : error with { Message = error.Message.Replace(value, Mask, StringComparison.Ordinal) };
    }

    /// <summary>
    /// Returns <paramref name="connectionString"/> with its password (<c>Password</c>, <c>Pwd</c>, <c>Psw</c>, <c>Passwd</c>)
    /// replaced by <see cref="Mask"/>, for error messages and status. A string that cannot be parsed is hidden entirely.
    /// </summary>
    public static string RedactConnectionString(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        DbConnectionStringBuilder builder;
        try
        {
            builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            return Mask;
        }
        var secret = builder.Keys.Cast<string>().Where(k => s_connectionStringSecretKeys.Contains(k.Trim(), StringComparer.OrdinalIgnoreCase)).ToList();
        if (secret.Count == 0)
            return connectionString;
        foreach (var key in secret)
            builder[key] = Mask;
        return builder.ConnectionString;
    }

    private static string RedactEmbeddedPassword(string value)
    {
        var carriesPassword = false;
        foreach (var key in s_connectionStringSecretKeys)
            carriesPassword |= value.Contains(key + "=", StringComparison.OrdinalIgnoreCase);
        if (!carriesPassword)
            return value;
        var redacted = RedactConnectionString(value);
        // Not a connection string whose password could be found (e.g. "host:6379,password=…"): hide the whole value.
        return ReferenceEquals(redacted, value) ? Mask : redacted;
    }

    private static bool IsDeclaredSecret(string key, IReadOnlySet<string> secretKeys)
    {
        foreach (var secret in secretKeys)
        {
            if (key.Equals(secret, StringComparison.OrdinalIgnoreCase))
                return true;
            if (key.Length > secret.Length && key[secret.Length] == ':' && key.StartsWith(secret, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }
}
