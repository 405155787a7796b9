using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Internal;

/// <summary>What the access pieces of one running control plane share.</summary>
internal sealed class AccessServices(Func<ControlPlaneOptions> settings, AuditTrail audit, LoginThrottle throttle, SessionStore sessions, bool loopbackOnly,
    bool secureCookies)
{
    /// <summary>The current settings (users and API keys follow configuration reloads).</summary>
    public Func<ControlPlaneOptions> Settings { get; } = settings;

    public AuditTrail Audit { get; } = audit;

    public LoginThrottle Throttle { get; } = throttle;

    public SessionStore Sessions { get; } = sessions;

    /// <summary>True when every listen address is loopback.</summary>
    public bool LoopbackOnly { get; } = loopbackOnly;

    /// <summary>True when session cookies are always Secure and <c>__Host-</c> (https, or a TLS proxy in front).</summary>
    public bool SecureCookies { get; } = secureCookies;

    /// <summary>
    /// True when an anonymous request may act as a viewer: the setting allows it, every listen address is loopback, the request came
    /// from loopback, no proxy is trusted and the request carries no forwarding header (a local reverse proxy would forward strangers).
    /// </summary>
    public bool AnonymousAllowed(HttpContext context)
    {
        var options = Settings();
        if (options.EffectiveAnonymousRole != ControlRole.Viewer || !LoopbackOnly || !string.IsNullOrWhiteSpace(options.TrustedProxies))
            return false;
        var headers = context.Request.Headers;
        return Callers.IsLoopback(context) && !headers.ContainsKey("X-Forwarded-For") && !headers.ContainsKey("Forwarded") && !headers.ContainsKey("X-Real-IP");
    }
}

/// <summary>
/// Runs after ASP.NET Core's authentication middleware: keeps why a presented credential failed (it never falls back to anonymous),
/// gives an anonymous loopback request the viewer role where allowed, and refuses a cookie-authenticated state change that is not
/// same-origin or lacks a valid antiforgery token (CSRF).
/// </summary>
internal static class AccessMiddleware
{
    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, AccessServices access)
    {
        var result = await context.AuthenticateAsync().ConfigureAwait(false); // the handlers cache their result per request
        if (result.Failure is not null)
        {
            context.Items[Callers.FailureKey] = result.Failure;
        }
        else if (context.User.Identity?.IsAuthenticated != true && access.AnonymousAllowed(context))
        {
            context.User = Callers.Anonymous(ControlRole.Viewer);
        }

        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && Callers.KindOf(context.User) == CallerKind.User
            && await CsrfRefusalAsync(context).ConfigureAwait(false) is { } refusal)
        {
            access.Audit.Record(Callers.Of(context), context.GetEndpoint()?.Metadata.GetMetadata<AuditedAction>()?.Action ?? "request", context.Request.Path.Value,
                AuditResult.Denied, refusal);
            await Http.WriteProblemAsync(context, StatusCodes.Status403Forbidden, refusal).ConfigureAwait(false);
            return;
        }
        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Why a state change may be cross-site, or null: the browser says it is not same-origin (<c>Sec-Fetch-Site</c>), the
    /// <c>Origin</c> is another one, or the antiforgery token (header <see cref="Schemes.CsrfHeader"/>, bound to the session's
    /// antiforgery cookie and user) is missing or wrong.
    /// </summary>
    public static async Task<string?> CsrfRefusalAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.TryGetValue("Sec-Fetch-Site", out var site) && !string.Equals(site.ToString(), "same-origin", StringComparison.OrdinalIgnoreCase))
            return $"Cross-site request refused (Sec-Fetch-Site: {Http.Echo(site.ToString())}).";
        if (headers.TryGetValue("Origin", out var origin))
        {
            var own = context.Request.Scheme + "://" + context.Request.Host.Value;
            if (!string.Equals(origin.ToString(), own, StringComparison.OrdinalIgnoreCase))
                return $"Cross-origin request refused (Origin: {Http.Echo(origin.ToString())}).";
        }
        var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return $"The request lacks a valid antiforgery token (header {Schemes.CsrfHeader}); reload the page.";
        }
        return null;
    }
}

/// <summary>Endpoint metadata: the audit action of an endpoint, recorded when a caller is refused it.</summary>
internal sealed record AuditedAction(string Action);

/// <summary>
/// Turns ASP.NET Core authorization's verdict into the control plane's answers: 401 with <c>WWW-Authenticate</c> and a problem body
/// saying why the credential failed, 429 with <c>Retry-After</c> for a locked-out client, 403 for a missing role; refusals of
/// audited endpoints are recorded.
/// </summary>
internal sealed class ProblemAuthorizationResultHandler(AccessServices access) : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        var audited = context.GetEndpoint()?.Metadata.GetMetadata<AuditedAction>();
        var caller = Callers.Of(context);
        string detail;
        int status;
        if (context.Items.TryGetValue(Callers.LockedOutKey, out var locked) && locked is TimeSpan remaining)
        {
            status = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(remaining.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            detail = "Too many refused credentials from this address; try again later.";
        }
        else if (authorizeResult.Challenged || context.User.Identity?.IsAuthenticated != true || Callers.KindOf(context.User) == CallerKind.Anonymous)
        {
            status = StatusCodes.Status401Unauthorized;
            var failure = Callers.FailedCredential(context);
            detail = failure is null
                ? "This endpoint needs an identity: sign in, or send 'Authorization: Bearer <API key or token>'."
                : Schemes.Select(context, jwtEnabled: true) switch
                {
                    Schemes.Cookie => "The session has ended (signed out, expired or revoked); sign in again.",
                    Schemes.Jwt => JwtSetup.Describe(failure),
                    _ => failure.Message,
                };
            context.Response.Headers.WWWAuthenticate = failure is not null && Schemes.Select(context, jwtEnabled: true) == Schemes.Jwt
                ? $"Bearer realm=\"AppRuntime\", error=\"invalid_token\", error_description=\"{detail.Replace('"', '\'')}\""
                : "Bearer realm=\"AppRuntime\"";
        }
        else
        {
            status = StatusCodes.Status403Forbidden;
            var needed = policy.Requirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).FirstOrDefault() ?? "another";
            detail = $"This needs the {needed} role; {caller.Name} has {(caller.Role == ControlRole.None ? "none" : caller.Role.ToString().ToLowerInvariant())}.";
        }
        if (audited is not null)
            access.Audit.Record(caller, audited.Action, Target(context), AuditResult.Denied, $"{status}: {detail}");
        await Http.WriteProblemAsync(context, status, detail).ConfigureAwait(false);
    }

    public static string? Target(HttpContext context)
    {
        var values = context.Request.RouteValues;
        var name = (values["name"] ?? values["queue"]) as string;
        return values["id"] is string id ? $"{name}/{id}" : name;
    }
}
