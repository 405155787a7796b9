using System.ComponentModel.DataAnnotations;

namespace AppRuntime;

/// <summary>A user who signs in to the dashboard (key <c>AppRuntime:ControlPlane:Users:&lt;name&gt;</c>).</summary>
public sealed partial class ControlPlaneUserSettings
{
    /// <summary>The password hash printed by <c>&lt;app&gt; --hash-password</c> (<see cref="ControlPlaneSecrets.HashPassword"/>): PBKDF2, never the password.</summary>
    [Secret]
    public string? PasswordHash { get; set; }

    /// <summary>The user's role (default <see cref="ControlRole.Viewer"/>).</summary>
    public ControlRole Role { get; set; } = ControlRole.Viewer;

    /// <summary>True refuses the user's sign-in and ends their sessions at their next request.</summary>
    public bool Disabled { get; set; }
}

/// <summary>An API key for automation (key <c>AppRuntime:ControlPlane:ApiKeys:&lt;name&gt;</c>).</summary>
public sealed partial class ControlPlaneApiKeySettings
{
    /// <summary>The key's hash printed by <c>&lt;app&gt; --new-api-key</c> (<see cref="ControlPlaneSecrets.HashApiKey"/>); the key itself is never stored.</summary>
    [Secret]
    public string? Hash { get; set; }

    /// <summary>The key's role (default <see cref="ControlRole.Viewer"/>).</summary>
    public ControlRole Role { get; set; } = ControlRole.Viewer;

    /// <summary>When the key stops working, if ever (e.g. <c>2026-12-31T00:00:00Z</c>).</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>
/// JWT bearer tokens from an external identity provider (keys <c>AppRuntime:ControlPlane:Jwt:*</c>). Off while
/// <see cref="Audience"/> is empty. Signing keys come from <see cref="JwksFile"/>, <see cref="JwksUrl"/> or the OpenID Connect
/// discovery document of <see cref="Authority"/> (exactly one).
/// </summary>
public sealed partial class ControlPlaneJwtSettings
{
    /// <summary>The issuer base URL whose <c>/.well-known/openid-configuration</c> names the issuer and the signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>The expected <c>iss</c> (required with <see cref="JwksFile"/> or <see cref="JwksUrl"/>; with an authority, its discovery document's).</summary>
    public string? Issuer { get; set; }

    /// <summary>The expected <c>aud</c>: setting it turns JWT bearer authentication on.</summary>
    public string? Audience { get; set; }

    /// <summary>A JSON Web Key Set file with the signing keys; re-read when it changes.</summary>
    public string? JwksFile { get; set; }

    /// <summary>A JSON Web Key Set URL with the signing keys, fetched and refreshed like a discovery document.</summary>
    public string? JwksUrl { get; set; }

    /// <summary>The claim whose values are roles (default <c>roles</c>; a JSON array or a single string).</summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>The claim that names the caller in the audit trail (default <c>sub</c>).</summary>
    public string NameClaim { get; set; } = "sub";

    /// <summary>
    /// Role claim values → roles, for providers whose role names differ (e.g. <c>RoleMappings:AppRuntime.Admins=Admin</c>). The values
    /// <c>viewer</c>, <c>operator</c> and <c>admin</c> (any case) map to their roles without an entry. A token gets its highest role.
    /// </summary>
    public Dictionary<string, ControlRole> RoleMappings { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Leeway for the token's lifetime (default 1 minute).</summary>
    [TimeRange("00:00:00", "00:10:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Fetch <see cref="Authority"/> and <see cref="JwksUrl"/> over https only (default true).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>True when JWT bearer authentication is configured.</summary>
    internal bool IsEnabled => !string.IsNullOrWhiteSpace(Audience);
}

/// <summary>The certificate that serves <c>https://</c> addresses (keys <c>AppRuntime:ControlPlane:Certificate:*</c>).</summary>
public sealed partial class ControlPlaneCertificateSettings
{
    /// <summary>A PKCS#12 (<c>.pfx</c>/<c>.p12</c>) file, or a PEM certificate with <see cref="KeyPath"/>.</summary>
    public string? Path { get; set; }

    /// <summary>The PEM private key of a PEM certificate.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of the PKCS#12 file or of an encrypted PEM key.</summary>
    [Secret]
    public string? Password { get; set; }

    /// <summary>True when a certificate is configured.</summary>
    internal bool IsConfigured => !string.IsNullOrWhiteSpace(Path);
}

/// <summary>Dashboard sessions (keys <c>AppRuntime:ControlPlane:Sessions:*</c>).</summary>
public sealed partial class ControlPlaneSessionSettings
{
    /// <summary>A session ends after this long without a request (sliding expiry; default 30 minutes).</summary>
    [TimeRange("00:01:00", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session ends this long after sign-in, however active (absolute expiry; default 8 hours).</summary>
    [TimeRange("00:01:00", "30.00:00:00")]
    public TimeSpan AbsoluteTimeout { get; set; } = TimeSpan.FromHours(8);
}

/// <summary>Rate limits and lockout of sign-in and credential attempts (keys <c>AppRuntime:ControlPlane:Login:*</c>).</summary>
public sealed partial class ControlPlaneLoginSettings
{
    /// <summary>Sign-in attempts one client address may make per minute (ASP.NET Core rate limiter; default 10).</summary>
    [Range(1, 10_000)]
    public int AttemptsPerClientPerMinute { get; set; } = 10;

    /// <summary>Sign-in attempts for one user name per minute, from any address (default 5).</summary>
    [Range(1, 10_000)]
    public int AttemptsPerUserPerMinute { get; set; } = 5;

    /// <summary>Failed sign-ins in a row that lock a user name out for <see cref="LockoutDuration"/> (default 5).</summary>
    [Range(1, 1000)]
    public int MaxFailuresPerUser { get; set; } = 5;

    /// <summary>
    /// Failed sign-ins and refused API keys or tokens in a row that lock a client address out of every credential check for
    /// <see cref="LockoutDuration"/> (default 20).
    /// </summary>
    [Range(1, 10_000)]
    public int MaxFailuresPerClient { get; set; } = 20;

    /// <summary>How long a lockout lasts (default 15 minutes).</summary>
    [TimeRange("00:00:01", "1.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);
}
