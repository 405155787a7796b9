using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace AppRuntime;

/// <summary>
/// Password hashes and API keys of the control plane. Passwords are hashed with PBKDF2-HMAC-SHA256 (<see cref="Rfc2898DeriveBytes.Pbkdf2(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, HashAlgorithmName, int)"/>),
/// a random 16-byte salt and <see cref="DefaultIterations"/> iterations, written as
/// <c>pbkdf2-sha256.&lt;iterations&gt;.&lt;salt&gt;.&lt;hash&gt;</c> (base64url; safe in JSON, environment variables and shells).
/// API keys are 256 random bits, so a single SHA-256 is enough to store them (<c>sha256.&lt;hash&gt;</c>): a slow hash protects
/// guessable secrets, and a random key is not guessable.
/// </summary>
public static class ControlPlaneSecrets
{
    /// <summary>PBKDF2 iterations of a new password hash (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>The fewest iterations a configured password hash may have.</summary>
    public const int MinimumIterations = 100_000;

    /// <summary>The shortest password <see cref="HashPassword"/> accepts.</summary>
    public const int MinimumPasswordLength = 12;

    /// <summary>The prefix of every API key <see cref="CreateApiKey"/> makes.</summary>
    public const string ApiKeyPrefix = "arpk_";

    private const string PasswordScheme = "pbkdf2-sha256";
    private const string ApiKeyScheme = "sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>Hashes <paramref name="password"/> (at least <see cref="MinimumPasswordLength"/> characters) for <c>Users:&lt;name&gt;:PasswordHash</c>.</summary>
    public static string HashPassword(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length < MinimumPasswordLength)
            throw new ArgumentException($"The password is too short: use at least {MinimumPasswordLength} characters.", nameof(password));
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Join('.', PasswordScheme, iterations.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Base64Url.EncodeToString(salt), Base64Url.EncodeToString(hash));
    }

    /// <summary>True when <paramref name="password"/> matches <paramref name="passwordHash"/> (compared in constant time); false for a malformed hash.</summary>
    public static bool VerifyPassword(string password, string passwordHash)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentNullException.ThrowIfNull(passwordHash);
        if (!TryParsePasswordHash(passwordHash, out var iterations, out var salt, out var expected, out _))
            return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Makes a new random API key and the hash to configure as <c>ApiKeys:&lt;name&gt;:Hash</c>. Show the key once; store only the hash.</summary>
    public static (string Key, string Hash) CreateApiKey()
    {
        var key = ApiKeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (key, HashApiKey(key));
    }

    /// <summary>The configured form of an API key: <c>sha256.&lt;base64url of SHA-256&gt;</c>.</summary>
    public static string HashApiKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return ApiKeyScheme + "." + Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>Parses a password hash; <paramref name="problem"/> says what is wrong with a malformed one.</summary>
    internal static bool TryParsePasswordHash(string text, out int iterations, out byte[] salt, out byte[] hash, out string? problem)
    {
        iterations = 0;
        salt = hash = [];
        var parts = text.Split('.');
        if (parts.Length != 4 || parts[0] != PasswordScheme)
        {
            problem = $"is not a password hash made by --hash-password ({PasswordScheme}.<iterations>.<salt>.<hash>)";
            return false;
        }
        if (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out iterations) || iterations < MinimumIterations)
        {
            problem = $"has too few PBKDF2 iterations: at least {MinimumIterations:N0} (hash it again with --hash-password)";
            return false;
        }
        if (!TryDecode(parts[2], out salt) || salt.Length < SaltBytes || !TryDecode(parts[3], out hash) || hash.Length < HashBytes)
        {
            problem = "is not a password hash made by --hash-password (the salt or hash is not valid base64url)";
            return false;
        }
        problem = null;
        return true;
    }

    /// <summary>Parses an API key hash into the SHA-256 bytes.</summary>
    internal static bool TryParseApiKeyHash(string text, out byte[] hash)
    {
        hash = [];
        var parts = text.Split('.');
        return parts.Length == 2 && parts[0] == ApiKeyScheme && TryDecode(parts[1], out hash) && hash.Length == 32;
    }

    private static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = [];
        if (!Base64Url.IsValid(text))
            return false;
        bytes = Base64Url.DecodeFromChars(text);
        return true;
    }
}
