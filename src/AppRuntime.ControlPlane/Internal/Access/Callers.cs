using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Internal;

/// <summary>The authentication schemes of the control plane.</summary>
internal static class Schemes
{
    /// <summary>The default scheme: forwards to one of the others by what the request carries.</summary>
    public const string Default = "AppRuntime";

    /// <summary>Dashboard sessions (ASP.NET Core cookie authentication with a server-side ticket store).</summary>
    public const string Cookie = "AppRuntime.Session";

    /// <summary>API keys and the deprecated admin token.</summary>
    public const string ApiKey = "AppRuntime.ApiKey";

    /// <summary>JWT bearer tokens of an external identity provider (ASP.NET Core JwtBearer).</summary>
    public const string Jwt = "AppRuntime.Jwt";

    /// <summary>The header an API key may come in besides <c>Authorization: Bearer</c>.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The header that carries the antiforgery token of a cookie-authenticated state change.</summary>
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>Chooses the scheme of a request: a JWT-shaped bearer → JWT (when configured), another bearer or X-Api-Key → API key, else the session cookie.</summary>
    public static string Select(HttpContext context, bool jwtEnabled)
    {
        var headers = context.Request.Headers;
        if (headers.Authorization.Count > 0)
        {
            var value = headers.Authorization.ToString();
            if (jwtEnabled && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && LooksLikeJwt(value.AsSpan(7).Trim()))
                return Jwt;
            return ApiKey;
        }
        return headers.ContainsKey(ApiKeyHeader) ? ApiKey : Cookie;
    }

    private static bool LooksLikeJwt(ReadOnlySpan<char> token) => token.StartsWith("eyJ", StringComparison.Ordinal) && token.Count('.') == 2;
}

/// <summary>Policy names of the three roles.</summary>
internal static class Policies
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static string For(ControlRole role) => role switch
    {
        ControlRole.Admin => Admin,
        ControlRole.Operator => Operator,
        _ => Viewer,
    };
}

/// <summary>The principals of the control plane: name, role (with the roles below it), kind and session.</summary>
internal static class Callers
{
    public const string KindClaim = "appruntime:kind";
    public const string SessionClaim = "appruntime:sid";
    public const string StampClaim = "appruntime:stamp";
    public const string AnonymousType = "anonymous";

    public static ClaimsPrincipal Principal(string name, ControlRole role, CallerKind kind, string authenticationType, string? sessionId = null, string? stamp = null)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, kind + ":" + name),
            new(ClaimTypes.Name, name),
            new(KindClaim, kind.ToString()),
        };
        for (var r = ControlRole.Viewer; r <= role; r++)
            claims.Add(new Claim(ClaimTypes.Role, Policies.For(r)));
        if (sessionId is not null)
            claims.Add(new Claim(SessionClaim, sessionId));
        if (stamp is not null)
            claims.Add(new Claim(StampClaim, stamp));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType, ClaimTypes.Name, ClaimTypes.Role));
    }

    public static ClaimsPrincipal Anonymous(ControlRole role) => Principal("anonymous", role, CallerKind.Anonymous, AnonymousType);

    /// <summary>The caller of a request as the audit trail records it.</summary>
    public static ControlCaller Of(HttpContext context)
    {
        var user = context.User;
        var address = ClientAddress(context);
        if (user.Identity is not { IsAuthenticated: true } identity)
            return new ControlCaller("anonymous", ControlRole.None, CallerKind.Anonymous, address);
        var kind = Enum.TryParse<CallerKind>(user.FindFirstValue(KindClaim), out var k) ? k : CallerKind.Anonymous;
        return new ControlCaller(identity.Name ?? "?", RoleOf(user), kind, address);
    }

    public static ControlRole RoleOf(ClaimsPrincipal user) =>
        user.IsInRole(Policies.Admin) ? ControlRole.Admin
        : user.IsInRole(Policies.Operator) ? ControlRole.Operator
        : user.IsInRole(Policies.Viewer) ? ControlRole.Viewer
        : ControlRole.None;

    public static CallerKind KindOf(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true && Enum.TryParse<CallerKind>(user.FindFirstValue(KindClaim), out var k) ? k : CallerKind.Anonymous;

    public static string ClientAddress(HttpContext context) => context.Connection.RemoteIpAddress is { } ip
        ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()
        : "unknown";

    /// <summary>The key of <see cref="HttpContext.Items"/> under which a failed authentication's exception is kept.</summary>
    public static readonly object FailureKey = new();

    /// <summary>The key of <see cref="HttpContext.Items"/> under which a lockout's remaining time is kept.</summary>
    public static readonly object LockedOutKey = new();

    /// <summary>Why the credential the request presented (session cookie, API key, token) did not authenticate, or null.</summary>
    public static Exception? FailedCredential(HttpContext context) => context.Items.TryGetValue(FailureKey, out var failure) ? failure as Exception : null;

    public static bool IsLoopback(HttpContext context) => context.Connection.RemoteIpAddress is { } ip && IPAddress.IsLoopback(ip);
}
