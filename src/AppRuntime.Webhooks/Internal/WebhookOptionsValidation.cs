using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace AppRuntime.Internal;

/// <summary>A parsed listen address.</summary>
internal sealed record WebhookListenAddress(string Url, bool IsHttps);

/// <summary>Parses <see cref="WebhookOptions.Urls"/>.</summary>
internal static class WebhookListenAddresses
{
    /// <summary>Parses the <c>;</c>-separated list; throws <see cref="FormatException"/> naming the bad address.</summary>
    public static IReadOnlyList<WebhookListenAddress> Parse(string? urls)
    {
        var parts = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new FormatException($"is empty: give at least one address such as {WebhookOptions.DefaultUrls}.");
        var result = new List<WebhookListenAddress>(parts.Length);
        foreach (var url in parts)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"'{url}' is not a valid address ({ex.Message}).", ex);
            }
            var https = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
            if (address.IsUnixPipe || !(https || string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase)))
                throw new FormatException($"'{url}' is not supported: give http:// or https:// addresses with a TCP port.");
            if (!string.IsNullOrEmpty(address.PathBase) && address.PathBase != "/")
                throw new FormatException($"'{url}' has a path; give scheme, host and port only (the sources' paths follow).");
            result.Add(new WebhookListenAddress(url, https));
        }
        return result;
    }
}

/// <summary>Loads the listener's certificate.</summary>
internal static class WebhookCertificates
{
    public static X509Certificate2 Load(WebhookCertificateSettings settings)
    {
        var path = settings.Path;
        var extension = System.IO.Path.GetExtension(path);
        if (extension.Equals(".pfx", StringComparison.OrdinalIgnoreCase) || extension.Equals(".p12", StringComparison.OrdinalIgnoreCase))
            return X509CertificateLoader.LoadPkcs12FromFile(path, settings.Password);
        return string.IsNullOrEmpty(settings.Password)
            ? X509Certificate2.CreateFromPemFile(path, settings.KeyPath)
            : X509Certificate2.CreateFromEncryptedPemFile(path, settings.Password, settings.KeyPath);
    }
}

/// <summary>
/// The rules of <see cref="WebhookOptions"/> across members and against the declared sources, checked with every other section at
/// start and on every reload. Messages never quote a secret.
/// </summary>
internal static class WebhookOptionsValidation
{
    public static void Validate(WebhookOptions options, IConfigurationSection section, ConfigErrors errors, WebhookRegistry registry)
    {
        var path = section.Path;
        IReadOnlyList<WebhookListenAddress> addresses = [];
        try
        {
            addresses = WebhookListenAddresses.Parse(options.Urls);
        }
        catch (FormatException ex)
        {
            errors.Add(path + ":Urls", ex.Message);
        }
        if (addresses.Any(a => a.IsHttps) && options.Enabled)
        {
            if (options.Certificate is null || string.IsNullOrWhiteSpace(options.Certificate.Path))
                errors.Add(path + ":Certificate:Path", "is required for the https:// addresses in " + path + ":Urls.");
            else
                CheckCertificate(options.Certificate, path + ":Certificate", errors);
        }
        foreach (var proxy in options.KnownProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
                errors.Add(path + ":KnownProxies", $"'{proxy}' is not an IP address.");
        }

        var declared = registry.Endpoints.Select(e => e.Definition.Name).ToList();
        foreach (var name in options.Sources.Keys)
        {
            if (registry.Find(name) is null)
            {
                errors.Add($"{path}:Sources:{name}", declared.Count == 0
                    ? "no webhook source has this name (none is declared)."
                    : $"no webhook source has this name (declared: {string.Join(", ", declared)}).");
            }
        }
        foreach (var endpoint in registry.Endpoints)
        {
            var definition = endpoint.Definition;
            var key = $"{path}:Sources:{definition.Name}";
            options.Sources.TryGetValue(definition.Name, out var settings);
            var scheme = SignatureScheme.For(definition);
            var secrets = settings?.Secrets ?? [];
            if (scheme.NeedsSecrets && secrets.Count == 0)
            {
                errors.Add(key + ":Secrets", $"is required: webhook source '{definition.Name}' checks {definition.Signature} signatures. Set {key}:Secrets:0 " +
                    $"(for example as the environment variable {key.Replace(":", "__", StringComparison.Ordinal)}__Secrets__0).");
            }
            else if (!scheme.NeedsSecrets && secrets.Count > 0)
            {
                errors.Add(key + ":Secrets", $"is set, but webhook source '{definition.Name}' checks no signature (None); remove the secrets or declare a scheme.");
            }
            for (var i = 0; i < secrets.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(secrets[i]))
                {
                    errors.Add($"{key}:Secrets:{i}", "is empty.");
                    continue;
                }
                try
                {
                    scheme.KeyOf(secrets[i]);
                }
                catch (FormatException ex)
                {
                    errors.Add($"{key}:Secrets:{i}", ex.Message);
                }
            }
            foreach (var network in settings?.AllowedNetworks ?? [])
            {
                if (!IPNetwork.TryParse(network, out _))
                    errors.Add(key + ":AllowedNetworks", $"'{network}' is not a network in CIDR notation (such as 192.30.252.0/22 or 2001:db8::/32).");
            }
            var retention = settings?.RetentionWindow ?? options.RetentionWindow;
            var tolerance = settings?.Tolerance ?? options.Tolerance;
            if (definition.Signature is WebhookSignature.StandardWebhooks or WebhookSignature.Stripe && retention < tolerance)
            {
                errors.Add(settings?.RetentionWindow is null ? path + ":RetentionWindow" : key + ":RetentionWindow",
                    $"must be at least the timestamp tolerance ({tolerance}) of webhook source '{definition.Name}': a replay inside the tolerance must still find the event id.");
            }
        }
    }

    private static void CheckCertificate(WebhookCertificateSettings certificate, string key, ConfigErrors errors)
    {
        if (!File.Exists(certificate.Path))
        {
            errors.Add(key + ":Path", $"the file '{certificate.Path}' does not exist.");
            return;
        }
        if (certificate.KeyPath is { Length: > 0 } keyPath && !File.Exists(keyPath))
        {
            errors.Add(key + ":KeyPath", $"the file '{keyPath}' does not exist.");
            return;
        }
        try
        {
            using var loaded = WebhookCertificates.Load(certificate);
            if (!loaded.HasPrivateKey)
                errors.Add(key + ":Path", "the certificate has no private key (give KeyPath for a PEM certificate).");
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add(key + ":Path", $"the certificate cannot be loaded: {ex.Message}");
        }
    }
}
