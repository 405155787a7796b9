namespace AppRuntime;

/// <summary>
/// Settings of the HTTP control plane (configuration section <c>AppRuntime:ControlPlane</c>). Values from configuration are read
/// first; the delegate passed to <see cref="ControlPlaneExtensions.AddControlPlane"/> runs after them and wins.
/// </summary>
public sealed class ControlPlaneOptions
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

    /// <summary>The largest request body accepted, in bytes (default 64 KiB); larger bodies get 413.</summary>
    public long MaxRequestBodySize { get; set; } = 64 * 1024;
}
