using System.Net;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Internal;

/// <summary>A parsed listen address.</summary>
internal sealed record ListenAddress(string Url, bool IsLoopback, bool IsHttps);

/// <summary>Parses and checks <see cref="ControlPlaneOptions.Urls"/>.</summary>
internal static class ListenAddresses
{
    /// <summary>Parses the <c>;</c>-separated list; throws <see cref="InvalidOperationException"/> naming the bad address.</summary>
    public static IReadOnlyList<ListenAddress> Parse(string? urls)
    {
        var parts = (urls ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
            throw new InvalidOperationException($"{ControlPlaneExtensions.SectionPath}:Urls is empty: give at least one address such as {ControlPlaneOptions.DefaultUrls}.");
        var result = new List<ListenAddress>(parts.Length);
        foreach (var url in parts)
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException ex)
            {
                throw new InvalidOperationException($"{ControlPlaneExtensions.SectionPath}:Urls: '{url}' is not a valid address ({ex.Message}).", ex);
            }
            var https = string.Equals(address.Scheme, "https", StringComparison.OrdinalIgnoreCase);
            if (address.IsUnixPipe || !(https || string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase)))
                throw new InvalidOperationException($"{ControlPlaneExtensions.SectionPath}:Urls: '{url}' is not supported: the control plane serves http:// or https:// on a TCP port.");
            if (!string.IsNullOrEmpty(address.PathBase) && address.PathBase != "/")
                throw new InvalidOperationException($"{ControlPlaneExtensions.SectionPath}:Urls: '{url}' has a path; give scheme, host and port only.");
            result.Add(new ListenAddress(url, IsLoopbackHost(address.Host), https));
        }
        return result;
    }

    /// <summary>True for <c>localhost</c> and loopback IP literals; false for wildcards, other IPs and host names.</summary>
    public static bool IsLoopbackHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return true;
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(literal, out var ip) && IPAddress.IsLoopback(ip);
    }
}
