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
    /// Listen addresses, separated by <c>;</c> (key <c>AppRuntime:ControlPlane:Urls</c>). <c>https://</c> needs a
    /// <see cref="Certificate"/>; plain <c>http://</c> on a non-loopback address needs <see cref="AllowInsecureHttp"/> (a TLS proxy in
    /// front). Port 0 picks a free port (see <see cref="IControlPlaneServer.Addresses"/>).
    /// </summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>
    /// Deprecated: the single admin token of earlier versions (key <c>AppRuntime:ControlPlane:Token</c>), at least
    /// <see cref="MinimumTokenLength"/> characters. It still works as an API key with the <see cref="ControlRole.Admin"/> role
    /// (<c>Authorization: Bearer &lt;token&gt;</c>, audited as kind <see cref="CallerKind.Token"/>) and a warning is logged at start;
    /// move to <see cref="ApiKeys"/> (hashed, with a role and an expiry).
    /// </summary>
    [Secret]
    public string? Token { get; set; }

    /// <summary>
    /// What an anonymous request may do (key <c>AppRuntime:ControlPlane:AnonymousRole</c>): <see cref="ControlRole.Viewer"/>
    /// (default) or <see cref="ControlRole.None"/>. It applies only when every listen address is loopback and the request comes from
    /// loopback without forwarding headers; anywhere else every <c>/api</c> read needs an identity. Payloads always need
    /// <see cref="ControlRole.Operator"/>.
    /// </summary>
    public ControlRole AnonymousRole { get; set; } = ControlRole.Viewer;

    /// <summary>
    /// Host names the control plane answers to, separated by <c>;</c> (key <c>AppRuntime:ControlPlane:AllowedHosts</c>), e.g.
    /// <c>ops.example.com;10.0.0.5</c>. Every other <c>Host</c> gets 400 (this defeats DNS rebinding). <c>localhost</c>,
    /// <c>127.0.0.1</c> and <c>[::1]</c> are allowed on a loopback-only server; a non-loopback address needs this list.
    /// <c>/health/live</c> and <c>/health/ready</c> answer any host.
    /// </summary>
    public string? AllowedHosts { get; set; }

    /// <summary>
    /// Serve plain http on a non-loopback address (key <c>AppRuntime:ControlPlane:AllowInsecureHttp</c>, default false): only behind a
    /// TLS-terminating proxy. Session cookies are then always marked Secure.
    /// </summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>
    /// Proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed, separated by <c>;</c>: addresses or networks
    /// (<c>10.0.0.0/8</c>) (key <c>AppRuntime:ControlPlane:TrustedProxies</c>). Without it the client address (rate limits, lockout,
    /// audit) is the connection's.
    /// </summary>
    public string? TrustedProxies { get; set; }

    /// <summary>The certificate for <c>https://</c> addresses (keys <c>AppRuntime:ControlPlane:Certificate:*</c>).</summary>
    public ControlPlaneCertificateSettings Certificate { get; set; } = new();

    /// <summary>Users who sign in to the dashboard: name → password hash and role (keys <c>AppRuntime:ControlPlane:Users:&lt;name&gt;:*</c>).</summary>
    [Secret]
    public Dictionary<string, ControlPlaneUserSettings> Users { get; set; } = new(StringComparer.Ordinal);

    /// <summary>API keys for automation: name → key hash, role and expiry (keys <c>AppRuntime:ControlPlane:ApiKeys:&lt;name&gt;:*</c>).</summary>
    [Secret]
    public Dictionary<string, ControlPlaneApiKeySettings> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>JWT bearer tokens from an external identity provider (keys <c>AppRuntime:ControlPlane:Jwt:*</c>); off unless set.</summary>
    public ControlPlaneJwtSettings Jwt { get; set; } = new();

    /// <summary>Dashboard sessions: idle and absolute lifetime (keys <c>AppRuntime:ControlPlane:Sessions:*</c>).</summary>
    public ControlPlaneSessionSettings Sessions { get; set; } = new();

    /// <summary>Rate limits and lockout of sign-in and credential attempts (keys <c>AppRuntime:ControlPlane:Login:*</c>).</summary>
    public ControlPlaneLoginSettings Login { get; set; } = new();

    /// <summary>Switches the control plane on or off (key <c>AppRuntime:ControlPlane:Enabled</c>, default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Read-only mode: every admin endpoint answers 403 (key <c>AppRuntime:ControlPlane:ReadOnly</c>, default false).</summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// Deprecated (key <c>AppRuntime:ControlPlane:RequireTokenForReads</c>): true means <see cref="AnonymousRole"/> =
    /// <see cref="ControlRole.None"/>, so every <c>/api</c> read needs an identity, also on loopback.
    /// </summary>
    public bool RequireTokenForReads { get; set; }

    /// <summary>The largest request body accepted, in bytes (key <c>AppRuntime:ControlPlane:MaxRequestBodySize</c>, default 64 KiB); larger bodies get 413.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 1024 * 1024 * 1024)]
    public long MaxRequestBodySize { get; set; } = 64 * 1024;

    /// <summary>The rules across members, checked on the final values (configuration, then code): every problem goes to <paramref name="errors"/>.</summary>
    internal void Validate(IConfigurationSection section, ConfigErrors errors) => AccessRules.Validate(this, section, errors);

    /// <summary>The anonymous role in effect: <see cref="AnonymousRole"/>, or none when the deprecated <see cref="RequireTokenForReads"/> is set.</summary>
    internal ControlRole EffectiveAnonymousRole => RequireTokenForReads ? ControlRole.None : AnonymousRole;
}
