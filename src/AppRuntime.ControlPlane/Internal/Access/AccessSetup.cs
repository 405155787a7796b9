using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Registers ASP.NET Core's own access pieces in the control plane's web application: authentication (a policy scheme over the
/// session cookie, API keys and JwtBearer), authorization (one policy per role), antiforgery, the rate limiter and data protection
/// with an ephemeral key ring (sessions live in memory and end with the process, so nothing needs a persisted key).
/// </summary>
internal static class AccessSetup
{
    public static void AddAccess(IServiceCollection services, ControlPlaneOptions options, AccessServices access, TimeProvider time)
    {
        services.AddSingleton<IDataProtectionProvider>(sp => new EphemeralDataProtectionProvider(sp.GetRequiredService<ILoggerFactory>()));
        var jwt = options.Jwt;
        var authentication = services.AddAuthentication(Schemes.Default)
            .AddPolicyScheme(Schemes.Default, "AppRuntime", o => o.ForwardDefaultSelector = context =>
                // The sign-in request must not read the session it may carry (session fixation, see AccessEndpoints).
                context.Request.Path.Equals(AccessEndpoints.LoginPath, StringComparison.Ordinal) && context.Request.Headers.Authorization.Count == 0
                    ? Schemes.ApiKey
                    : Schemes.Select(context, jwt.IsEnabled))
            .AddCookie(Schemes.Cookie, o => ConfigureCookie(o, options, access, time))
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(Schemes.ApiKey, o =>
            {
                o.Settings = access.Settings;
                o.Access = access;
                o.TimeProvider = time;
            });
        if (jwt.IsEnabled)
            authentication.AddJwtBearer(Schemes.Jwt, o => JwtSetup.Configure(o, jwt, access, time));

        services.AddAuthorization(o =>
        {
            o.AddPolicy(Policies.Viewer, p => p.RequireAuthenticatedUser().RequireRole(Policies.Viewer));
            o.AddPolicy(Policies.Operator, p => p.RequireAuthenticatedUser().RequireRole(Policies.Operator));
            o.AddPolicy(Policies.Admin, p => p.RequireAuthenticatedUser().RequireRole(Policies.Admin));
        });
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler>(new ProblemAuthorizationResultHandler(access));

        services.AddAntiforgery(o =>
        {
            o.HeaderName = Schemes.CsrfHeader;
            o.Cookie.Name = "AppRuntime.Csrf";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            o.SuppressXFrameOptionsHeader = true;
        });

        var login = options.Login;
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(ControlPlaneEndpoints.LoginPolicy, context => RateLimitPartition.GetFixedWindowLimiter(Callers.ClientAddress(context),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = login.AttemptsPerClientPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
            // A whole payload can be large: a few reads at a time, the next few wait, the rest are refused.
            o.AddPolicy(ControlPlaneEndpoints.PayloadPolicy, _ => RateLimitPartition.GetConcurrencyLimiter("payload",
                _ => new ConcurrencyLimiterOptions { PermitLimit = 2, QueueLimit = 4, QueueProcessingOrder = QueueProcessingOrder.OldestFirst }));
            o.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                    http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var action = http.GetEndpoint()?.Metadata.GetMetadata<AuditedAction>()?.Action ?? "request";
                access.Audit.Record(Callers.Of(http) with { Name = http.User.Identity?.IsAuthenticated == true ? Callers.Of(http).Name : "?" },
                    action, http.Request.Path.Value, AuditResult.Denied, "rate limit");
                await Http.WriteProblemAsync(http, StatusCodes.Status429TooManyRequests,
                    action == AuditActions.Login ? "Too many sign-in attempts from this address; try again later." : "Too many requests of this kind at once; try again shortly.")
                    .ConfigureAwait(false);
            };
        });
    }

    private static void ConfigureCookie(CookieAuthenticationOptions o, ControlPlaneOptions options, AccessServices access, TimeProvider time)
    {
        o.Cookie.Name = access.SecureCookies ? "__Host-AppRuntime" : "AppRuntime";
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Strict;
        o.Cookie.Path = "/";
        o.Cookie.SecurePolicy = access.SecureCookies ? Microsoft.AspNetCore.Http.CookieSecurePolicy.Always : Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        o.ExpireTimeSpan = options.Sessions.IdleTimeout;
        o.SlidingExpiration = true;
        o.SessionStore = access.Sessions;
        o.TimeProvider = time;
        o.LoginPath = "/login";
        o.Events = new CookieAuthenticationEvents
        {
            OnValidatePrincipal = context => ValidateSessionAsync(context, access, time),
            OnRedirectToLogin = context =>
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            },
            OnRedirectToAccessDenied = context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>
    /// At every request of a session: it ends when past its absolute lifetime, when its user was removed or disabled, or when the
    /// user's password changed; the role comes from the current configuration, so a reload that changes it applies at once.
    /// </summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context, AccessServices access, TimeProvider time)
    {
        var principal = context.Principal!;
        var settings = access.Settings();
        var name = principal.Identity?.Name ?? "";
        var sessionId = principal.FindFirst(Callers.SessionClaim)?.Value;
        var stamp = principal.FindFirst(Callers.StampClaim)?.Value;
        var created = sessionId is null ? null : access.Sessions.CreatedAt(sessionId);
        if (!settings.Users.TryGetValue(name, out var user) || user.Disabled || user.PasswordHash is null || AccessEndpoints.Stamp(user.PasswordHash) != stamp
            || created is null || created.Value + settings.Sessions.AbsoluteTimeout <= time.GetUtcNow())
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Schemes.Cookie).ConfigureAwait(false);
            return;
        }
        if (Callers.RoleOf(principal) != user.Role)
            context.ReplacePrincipal(Callers.Principal(name, user.Role, CallerKind.User, Schemes.Cookie, sessionId, stamp));
    }
}
