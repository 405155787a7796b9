using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.Tokens;

namespace AppRuntime.Internal;

/// <summary>
/// The rules of <see cref="ControlPlaneOptions"/> across members, checked with every other configuration section at start and on
/// reload (one report, exit code 78): addresses and TLS, allowed hosts, identities, their hashes and the JWT settings.
/// </summary>
internal static class AccessRules
{
    public static void Validate(ControlPlaneOptions options, IConfigurationSection section, ConfigErrors errors)
    {
        if (!options.Enabled)
            return;
        string Key(string relative) => section.GetSection(relative).Path;

        IReadOnlyList<ListenAddress> addresses;
        try
        {
            addresses = ListenAddresses.Parse(options.Urls);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(Key(nameof(options.Urls)), ex.Message);
            return;
        }

        if (!string.IsNullOrEmpty(options.Token) && options.Token.Length < ControlPlaneOptions.MinimumTokenLength)
            errors.Add(Key(nameof(options.Token)), $"is too short: use at least {ControlPlaneOptions.MinimumTokenLength} characters (better: move to ApiKeys).");
        if (options.AnonymousRole is not (ControlRole.None or ControlRole.Viewer))
            errors.Add(Key(nameof(options.AnonymousRole)), $"must be {ControlRole.None} or {ControlRole.Viewer}: anonymous requests are viewer at most (was {options.AnonymousRole}).");

        ValidateUsers(options, Key, errors);
        ValidateApiKeys(options, Key, errors);
        ValidateJwt(options.Jwt, Key, errors);
        if (options.Sessions.AbsoluteTimeout < options.Sessions.IdleTimeout)
            errors.Add(Key("Sessions:AbsoluteTimeout"), $"must not be shorter than {Key("Sessions:IdleTimeout")} ({options.Sessions.IdleTimeout}).");
        var hosts = ValidateHosts(options.AllowedHosts, Key(nameof(options.AllowedHosts)), errors);
        _ = ParseProxies(options.TrustedProxies, Key(nameof(options.TrustedProxies)), errors);

        var https = addresses.Where(a => a.IsHttps).Select(a => a.Url).ToList();
        if (options.Certificate.IsConfigured)
        {
            try
            {
                using var _ = LoadCertificate(options.Certificate);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                errors.Add(Key("Certificate:Path"), $"cannot be loaded: {ex.Message}");
            }
        }
        else if (https.Count > 0)
        {
            errors.Add(Key("Certificate:Path"), $"is required for the https address(es) {string.Join(", ", https)}.");
        }

        var exposed = addresses.Where(a => !a.IsLoopback).ToList();
        if (exposed.Count == 0)
            return;
        var names = string.Join(", ", exposed.Select(a => a.Url));
        if (!HasIdentities(options))
            errors.Add(Key(nameof(options.Users)), $"is empty, and so are ApiKeys, Jwt and Token: the control plane refuses to listen on the non-loopback address(es) {names} without a way to sign in; configure users (--hash-password), API keys (--new-api-key) or Jwt, or listen on 127.0.0.1.");
        var plain = exposed.Where(a => !a.IsHttps).Select(a => a.Url).ToList();
        if (plain.Count > 0 && !options.AllowInsecureHttp)
            errors.Add(Key(nameof(options.AllowInsecureHttp)), $"is false: the control plane refuses to serve plain http on the non-loopback address(es) {string.Join(", ", plain)}; use https:// with a Certificate, or set it to true behind a TLS-terminating proxy.");
        if (hosts.Count == 0)
            errors.Add(Key(nameof(options.AllowedHosts)), $"is empty: name the host names this control plane answers to on {names} (e.g. ops.example.com), so DNS rebinding cannot reach it.");
    }

    public static bool HasIdentities(ControlPlaneOptions options) =>
        options.Users.Count > 0 || options.ApiKeys.Count > 0 || options.Jwt.IsEnabled || !string.IsNullOrEmpty(options.Token);

    private static void ValidateUsers(ControlPlaneOptions options, Func<string, string> key, ConfigErrors errors)
    {
        foreach (var (name, user) in options.Users)
        {
            var path = $"{nameof(options.Users)}:{name}";
            if (!IsValidName(name))
                errors.Add(key(path), "is not a valid user name: use 1-64 letters, digits, '.', '-', '_' or '@'.");
            if (string.IsNullOrEmpty(user.PasswordHash))
                errors.Add(key(path + ":PasswordHash"), "is required: print one with --hash-password.");
            else if (!ControlPlaneSecrets.TryParsePasswordHash(user.PasswordHash, out _, out _, out _, out var problem))
                errors.Add(key(path + ":PasswordHash"), problem + ".");
            if (user.Role == ControlRole.None)
                errors.Add(key(path + ":Role"), "must be Viewer, Operator or Admin.");
        }
    }

    private static void ValidateApiKeys(ControlPlaneOptions options, Func<string, string> key, ConfigErrors errors)
    {
        foreach (var (name, apiKey) in options.ApiKeys)
        {
            var path = $"{nameof(options.ApiKeys)}:{name}";
            if (!IsValidName(name))
                errors.Add(key(path), "is not a valid API key name: use 1-64 letters, digits, '.', '-', '_' or '@'.");
            if (string.IsNullOrEmpty(apiKey.Hash))
                errors.Add(key(path + ":Hash"), "is required: make a key and its hash with --new-api-key.");
            else if (!ControlPlaneSecrets.TryParseApiKeyHash(apiKey.Hash, out _))
                errors.Add(key(path + ":Hash"), "is not an API key hash made by --new-api-key (sha256.<base64url>).");
            if (apiKey.Role == ControlRole.None)
                errors.Add(key(path + ":Role"), "must be Viewer, Operator or Admin.");
        }
    }

    private static void ValidateJwt(ControlPlaneJwtSettings jwt, Func<string, string> key, ConfigErrors errors)
    {
        var anySet = !string.IsNullOrWhiteSpace(jwt.Authority) || !string.IsNullOrWhiteSpace(jwt.Issuer) || !string.IsNullOrWhiteSpace(jwt.JwksFile)
            || !string.IsNullOrWhiteSpace(jwt.JwksUrl);
        if (!jwt.IsEnabled)
        {
            if (anySet)
                errors.Add(key("Jwt:Audience"), "is required when Jwt is configured: the tokens' expected audience.");
            return;
        }
        var sources = new[] { jwt.Authority, jwt.JwksFile, jwt.JwksUrl }.Count(s => !string.IsNullOrWhiteSpace(s));
        if (sources != 1)
            errors.Add(key("Jwt"), "needs exactly one source of signing keys: Authority (OpenID Connect discovery), JwksFile or JwksUrl.");
        if (string.IsNullOrWhiteSpace(jwt.Authority) && string.IsNullOrWhiteSpace(jwt.Issuer))
            errors.Add(key("Jwt:Issuer"), "is required with JwksFile or JwksUrl: the tokens' expected issuer.");
        foreach (var (name, value) in new[] { ("Authority", jwt.Authority), ("JwksUrl", jwt.JwksUrl) })
        {
            if (string.IsNullOrWhiteSpace(value))
                continue;
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                errors.Add(key("Jwt:" + name), "must be an absolute http(s) URL.");
            else if (uri.Scheme != Uri.UriSchemeHttps && jwt.RequireHttpsMetadata)
                errors.Add(key("Jwt:" + name), "must be https (or set Jwt:RequireHttpsMetadata to false for a test provider).");
        }
        if (string.IsNullOrWhiteSpace(jwt.RolesClaim))
            errors.Add(key("Jwt:RolesClaim"), "must name the claim that carries roles.");
        if (string.IsNullOrWhiteSpace(jwt.NameClaim))
            errors.Add(key("Jwt:NameClaim"), "must name the claim that names the caller.");
        foreach (var (claim, role) in jwt.RoleMappings)
        {
            if (role == ControlRole.None)
                errors.Add(key("Jwt:RoleMappings:" + claim), "must be Viewer, Operator or Admin.");
        }
        if (!string.IsNullOrWhiteSpace(jwt.JwksFile))
        {
            try
            {
                if (JwksFileKeys.Read(jwt.JwksFile).Count == 0)
                    errors.Add(key("Jwt:JwksFile"), "has no signing keys.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
            {
                errors.Add(key("Jwt:JwksFile"), $"cannot be read as a JSON Web Key Set: {ex.Message}");
            }
        }
    }

    /// <summary>The allowed host names, or an error for each malformed one.</summary>
    public static IReadOnlyList<string> ValidateHosts(string? allowedHosts, string key, ConfigErrors? errors)
    {
        var hosts = Split(allowedHosts);
        foreach (var host in hosts)
        {
            var bare = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
            if (host == "*" || bare.Length == 0 || bare.Contains('*', StringComparison.Ordinal) || Uri.CheckHostName(bare.Trim('[', ']')) == UriHostNameType.Unknown)
                errors?.Add(key, $"'{host}' is not a host name (give names such as ops.example.com or *.example.com, or addresses, without scheme or port; '*' is refused).");
        }
        return hosts;
    }

    /// <summary>The trusted proxies as networks (an address is a network of one).</summary>
    public static IReadOnlyList<IPNetwork> ParseProxies(string? proxies, string key, ConfigErrors? errors)
    {
        var result = new List<IPNetwork>();
        foreach (var entry in Split(proxies))
        {
            if (IPAddress.TryParse(entry, out var ip))
                result.Add(new IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else if (IPNetwork.TryParse(entry, out var network))
                result.Add(network);
            else
                errors?.Add(key, $"'{entry}' is neither an IP address nor a network such as 10.0.0.0/8.");
        }
        return result;
    }

    /// <summary>Loads the configured certificate: PKCS#12, or PEM certificate and key.</summary>
    public static X509Certificate2 LoadCertificate(ControlPlaneCertificateSettings settings)
    {
        var path = settings.Path!;
        if (!string.IsNullOrWhiteSpace(settings.KeyPath) || path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".crt", StringComparison.OrdinalIgnoreCase))
        {
            return string.IsNullOrEmpty(settings.Password)
                ? X509Certificate2.CreateFromPemFile(path, settings.KeyPath)
                : X509Certificate2.CreateFromEncryptedPemFile(path, settings.Password, settings.KeyPath);
        }
        return X509CertificateLoader.LoadPkcs12FromFile(path, settings.Password);
    }

    public static string[] Split(string? list) =>
        (list ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool IsValidName(string name) =>
        name.Length is >= 1 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '@');
}
