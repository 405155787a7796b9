using AppRuntime.Internal;
using Microsoft.Extensions.Configuration;

namespace AppRuntime;

/// <summary>
/// Settings of the HTTP control plane: the configuration section <c>AppRuntime:ControlPlane</c>, bound by the generated binder and
/// validated with every other section when the runtime starts. The delegate passed to
/// <see cref="ControlPlaneExtensions.AddControlPlane"/> runs after binding and wins; the rules below are checked after it.
/// </summary>
[ConfigSection(ControlPlaneExtensions.SectionPath)]
public sealed partial class ControlPlaneOptions
{
    /// <summary>The default listen address: loopback only.</summary>
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>The shortest admin token accepted.</summary>
    public const int MinimumTokenLength = 16;

    /// <summary>
    /// Listen addresses, separated by <c>;</c> (key <c>AppRuntime:ControlPlane:Urls</c>). Only <c>http://</c> is served; put a
    /// TLS-terminating proxy in front for remote access. Port 0 picks a free port (see <see cref="IControlPlaneServer.Addresses"/>).
    /// </summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>
    /// The admin token (key <c>AppRuntime:ControlPlane:Token</c>), at least <see cref="MinimumTokenLength"/> characters. Admin
    /// endpoints require <c>Authorization: Bearer &lt;token&gt;</c>; without a token they answer 403. The control plane refuses to
    /// start on a non-loopback address without one.
    /// </summary>
    [Secret]
    public string? Token { get; set; }

    /// <summary>Switches the control plane on or off (key <c>AppRuntime:ControlPlane:Enabled</c>, default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Read-only mode: every admin endpoint answers 403 (key <c>AppRuntime:ControlPlane:ReadOnly</c>, default false).</summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// When true, the <c>/api/*</c> read endpoints need the bearer token too (key <c>AppRuntime:ControlPlane:RequireTokenForReads</c>,
    /// default false). Dead letters can carry personal data; turn this on when the control plane is reachable from other machines.
    /// Health probes and the dashboard page itself never need the token.
    /// </summary>
    public bool RequireTokenForReads { get; set; }

    /// <summary>The largest request body accepted, in bytes (key <c>AppRuntime:ControlPlane:MaxRequestBodySize</c>, default 64 KiB); larger bodies get 413.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1024 * 1024 * 1024)]
    public long MaxRequestBodySize { get; set; } = 64 * 1024;

    /// <summary>The rules across members, checked on the final values (configuration, then code): every problem goes to <paramref name="errors"/>.</summary>
    internal void Validate(IConfigurationSection section, ConfigErrors errors)
    {
        if (!Enabled)
            return;
        IReadOnlyList<ListenAddress> addresses;
        try
        {
            addresses = ListenAddresses.Parse(Urls);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(section.GetSection(nameof(Urls)).Path, ex.Message);
            return;
        }
        var tokenKey = section.GetSection(nameof(Token)).Path;
        if (!string.IsNullOrEmpty(Token) && Token.Length < MinimumTokenLength)
            errors.Add(tokenKey, $"is too short: use at least {MinimumTokenLength} characters.");
        if (RequireTokenForReads && string.IsNullOrEmpty(Token))
            errors.Add(tokenKey, $"is required because {section.GetSection(nameof(RequireTokenForReads)).Path} is true.");
        var exposed = addresses.Where(a => !a.IsLoopback).Select(a => a.Url).ToList();
        if (exposed.Count > 0 && string.IsNullOrEmpty(Token))
            errors.Add(tokenKey, $"is not set: the control plane refuses to listen on the non-loopback address(es) {string.Join(", ", exposed)} without an admin token (at least {MinimumTokenLength} characters); set it or listen on 127.0.0.1.");
    }
}
