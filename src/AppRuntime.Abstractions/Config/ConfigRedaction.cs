using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace AppRuntime;

/// <summary>
/// Hides secrets wherever configuration, connection strings or messages that may quote them are shown (control plane, health,
/// logs, start-up errors). Two rules, used everywhere:
/// <list type="bullet">
/// <item><b>Secret names</b> (<see cref="IsSecretName"/>): a name that contains <c>password</c>, <c>passwd</c>, <c>passphrase</c>,
/// <c>pwd</c>, <c>psw</c>, <c>secret</c>, <c>token</c>, <c>apikey</c>, <c>api_key</c>, <c>privatekey</c>, <c>private_key</c>,
/// <c>credential</c> or <c>connectionstring</c>, or that ends in <c>key</c> (<c>SigningKey</c>, <c>AccessKey</c>, <c>Key</c>),
/// ignoring case, spaces, dashes and dots (<c>SSL Password</c> and <c>SslPassword</c> are both secret). A configuration key is
/// secret when its last segment is such a name, when it or a section above it is declared secret (<c>[Secret]</c>), or when it
/// lies under <c>ConnectionStrings</c>.</item>
/// <item><b>Secrets inside values</b> (<see cref="RedactValue"/>): in any text, the value of every <c>name=value</c> pair whose
/// name is a secret name (ADO.NET/Npgsql/SQLite connection strings separated by <c>;</c>, StackExchange.Redis strings separated
/// by <c>,</c>, and the same pairs inside error messages), and the password of every URI with user information
/// (<c>redis://user:password@host</c>, <c>postgresql://user:password@host/db</c>), and secret parameters of a URI query
/// (<c>?token=…</c>).</item>
/// </list>
/// </summary>
public static partial class ConfigRedaction
{
    /// <summary>What a secret value is shown as.</summary>
    public const string Mask = "***";

    private static readonly string[] s_secretNameParts =
        ["password", "passwd", "passphrase", "pwd", "psw", "secret", "token", "apikey", "privatekey", "credential", "connectionstring"];

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
        return IsSecretName(segments[^1]);
    }

    /// <summary>
    /// True when <paramref name="name"/> (the last segment of a configuration key, or a key inside a connection string) names a
    /// secret: it contains one of the secret name parts listed on <see cref="ConfigRedaction"/>, or ends in <c>key</c>. Case,
    /// spaces, dashes, dots and underscores are ignored (<c>SSL Password</c>, <c>ssl-password</c>, <c>Api_Key</c>).
    /// </summary>
    public static bool IsSecretName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Span<char> buffer = name.Length <= 128 ? stackalloc char[name.Length] : new char[name.Length];
        var length = 0;
        foreach (var c in name)
        {
            if (char.IsLetterOrDigit(c))
                buffer[length++] = char.ToLowerInvariant(c);
        }
        var normalized = buffer[..length];
        if (normalized.EndsWith("key", StringComparison.Ordinal))
            return true;
        foreach (var part in s_secretNameParts)
        {
            if (normalized.Contains(part, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    /// <summary>
    /// A view of every value of <paramref name="configuration"/>, sorted by key (ignoring case), with secret values replaced by
    /// <see cref="Mask"/> and every other value passed through <see cref="RedactValue"/> (a connection string or URI in an
    /// ordinary key shows with its password masked). Sections without a value of their own are left out.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Redact(IConfiguration configuration, IReadOnlySet<string>? secretKeys)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var view = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in configuration.AsEnumerable())
        {
            if (value is null)
                continue;
            view[key] = IsSecret(key, secretKeys) ? Mask : RedactValue(value);
        }
        return view;
    }

    /// <summary>
    /// Returns <paramref name="error"/> with the current value of its key replaced by <see cref="Mask"/> in the message when the
    /// key is secret (binders often quote the value they refused), and with any secret inside the message masked
    /// (<see cref="RedactValue"/>).
    /// </summary>
    public static ConfigError Redact(ConfigError error, IConfiguration configuration, IReadOnlySet<string>? secretKeys)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(configuration);
        var message = error.Message;
        if (IsSecret(error.KeyPath, secretKeys) && configuration[error.KeyPath] is { Length: > 0 } value)
            message = message.Replace(value, Mask, StringComparison.Ordinal);
        message = RedactValue(message);
        return ReferenceEquals(message, error.Message) ? error : error with { Message = message };
    }

    /// <summary>
    /// Returns <paramref name="connectionString"/> with every secret masked, as <see cref="RedactValue"/> does: the value of every
    /// pair with a secret name (<c>Password</c>, <c>SSL Password</c>, <c>SslPassword</c>, <c>Pwd</c>, ...) and the password of a
    /// URI. For error messages, provider names and status.
    /// </summary>
    public static string RedactConnectionString(string connectionString) => RedactValue(connectionString);

    /// <summary>
    /// Masks the secrets inside <paramref name="value"/>: the value of every <c>name=value</c> pair whose name is a secret name
    /// (<see cref="IsSecretName"/>), whether pairs are separated by <c>;</c> (ADO.NET, Npgsql, SQLite), by <c>,</c>
    /// (StackExchange.Redis) or stand in free text (an exception message); and the password of every URI with user information
    /// (<c>scheme://user:password@host</c> becomes <c>scheme://user:***@host</c>). A value runs to the next <c>;</c> (or, in text
    /// without <c>;</c>, to the next <c>,</c>), to the quote that closes a quoted piece of a message, or to the end of the line, so a
    /// password with spaces is masked whole. Returns the same
    /// instance when there is nothing to mask. This is the one function that every place showing configuration values,
    /// connection strings or provider errors uses.
    /// </summary>
    public static string RedactValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0 || (!value.Contains('=', StringComparison.Ordinal) && !value.Contains('@', StringComparison.Ordinal)))
            return value;
        var result = value;
        if (result.Contains("://", StringComparison.Ordinal))
            result = UriUserInfo().Replace(result, m => m.Groups["user"].Value + ":" + Mask + "@");
        if (result.Contains('=', StringComparison.Ordinal))
            result = MaskPairs(result);
        return string.Equals(result, value, StringComparison.Ordinal) ? value : result;
    }

    private static string MaskPairs(string text)
    {
        // Pairs end at ';' in connection-string syntax; a text without any ';' (StackExchange.Redis, a comma-separated list)
        // ends them at ',' too.
        var commaEnds = !text.Contains(';', StringComparison.Ordinal);
        StringBuilder? output = null;
        var copied = 0;
        foreach (Match pair in NameBeforeEquals().Matches(text))
        {
            var name = pair.Groups["name"];
            if (!IsSecretName(name.Value))
                continue;
            var start = pair.Index + pair.Length; // just after '='
            var inQuery = pair.Index > 0 && text[pair.Index - 1] is '?' or '&';
            // Inside a quoted piece of a message ("provider 'postgresql:Host=db;Password=x' failed"), the closing quote ends it.
            var enclosing = OddCount(text, '\'', pair.Index) ? '\'' : OddCount(text, '"', pair.Index) ? '"' : '\0';
            var end = ValueEnd(text, start, commaEnds, inQuery, enclosing);
            if (end <= start || (end - start == Mask.Length && string.CompareOrdinal(text, start, Mask, 0, Mask.Length) == 0))
                continue;
            output ??= new StringBuilder(text.Length);
            output.Append(text, copied, start - copied).Append(Mask);
            copied = end;
        }
        if (output is null)
            return text;
        output.Append(text, copied, text.Length - copied);
        return output.ToString();
    }

    /// <summary>True when <paramref name="text"/> holds an odd number of <paramref name="quote"/> before <paramref name="before"/>.</summary>
    private static bool OddCount(string text, char quote, int before)
    {
        var odd = false;
        for (var i = 0; i < before; i++)
            odd ^= text[i] == quote;
        return odd;
    }

    /// <summary>Where a value that starts at <paramref name="start"/> ends: a quoted value at its closing quote, else at the separator.</summary>
    private static int ValueEnd(string text, int start, bool commaEnds, bool inQuery, char enclosing)
    {
        var i = start;
        while (i < text.Length && text[i] == ' ')
            i++;
        if (i < text.Length && text[i] is '"' or '\'')
        {
            var quote = text[i];
            for (var j = i + 1; j < text.Length; j++)
            {
                if (text[j] != quote)
                    continue;
                if (j + 1 < text.Length && text[j + 1] == quote)
                {
                    j++; // a doubled quote inside the value
                    continue;
                }
                return j + 1;
            }
            return text.Length;
        }
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (c is ';' or '\n' or '\r' || c == enclosing || (commaEnds && c == ',') || (inQuery && c is '&' or '#' or ' '))
                return i;
        }
        return text.Length;
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

    /// <summary><c>scheme://user:password@</c>: the user (kept) and the password (masked).</summary>
    [GeneratedRegex(@"(?<user>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#]*):(?<password>[^\s/]*)@", RegexOptions.CultureInvariant)]
    private static partial Regex UriUserInfo();

    /// <summary>
    /// A pair's name (letters, digits, spaces, <c>_ . -</c>) and its <c>=</c>, at the start or after a separator (in a URI query,
    /// after <c>?</c> or <c>&amp;</c>, whose values end at the next <c>&amp;</c>).
    /// </summary>
    [GeneratedRegex(@"(?<=^|[;,\s(\[{""':?&])(?<name>[A-Za-z_][A-Za-z0-9_.\- ]{0,63}?)\s*=", RegexOptions.CultureInvariant)]
    private static partial Regex NameBeforeEquals();
}
