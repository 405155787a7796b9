using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AppRuntime.Internal;

/// <summary>
/// Sign-in, sign-out and the caller's session (<c>/auth/*</c>), the admin's view of sessions and the audit trail. Passwords are
/// checked here (PBKDF2), after the per-client rate limit (ASP.NET Core rate limiter on the endpoint), the per-user rate limit and the
/// lockouts; every attempt is audited.
/// </summary>
internal sealed class AccessEndpoints(ControlPlaneService control, AccessServices access, ControlPlaneJsonContext json)
{
    public const string LoginPath = "/auth/login";

    /// <summary>A valid hash of a random password, checked when the user name is unknown, so the answer takes as long either way.</summary>
    private static readonly Lazy<string> s_dummyHash = new(() => ControlPlaneSecrets.HashPassword(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24))));

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/auth/session", SessionAsync);
        app.MapPost(LoginPath, LoginAsync).RequireRateLimiting(ControlPlaneEndpoints.LoginPolicy).WithMetadata(new AuditedAction(AuditActions.Login));
        app.MapPost("/auth/logout", LogoutAsync);
        app.MapGet("/api/audit", AuditAsync).RequireAuthorization(Policies.Admin);
        app.MapGet("/api/sessions", SessionsAsync).RequireAuthorization(Policies.Admin);
        app.MapPost("/api/sessions/{id}/revoke", RevokeAsync).RequireAuthorization(Policies.Admin).WithMetadata(new AuditedAction(AuditActions.SessionRevoke));
    }

    /// <summary>Who the caller is, and a fresh antiforgery token for its next state change. A stale session cookie is cleared.</summary>
    private async Task SessionAsync(HttpContext context)
    {
        if (Callers.FailedCredential(context) is not null && Schemes.Select(context, jwtEnabled: true) == Schemes.Cookie)
        {
            await context.SignOutAsync(Schemes.Cookie).ConfigureAwait(false);
            context.Items.Remove(Callers.FailureKey);
            if (access.AnonymousAllowed(context))
                context.User = Callers.Anonymous(ControlRole.Viewer);
        }
        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        var kind = Callers.KindOf(user);
        var sessionId = user.FindFirstValue(Callers.SessionClaim);
        DateTimeOffset? expires = null;
        if (sessionId is not null && access.Sessions.CreatedAt(sessionId) is { } created)
            expires = created + access.Settings().Sessions.AbsoluteTimeout;
        // The sign-in request is processed as nobody (see LoginAsync), so the login page asks for a token made for nobody.
        var forLogin = string.Equals(context.Request.Query["purpose"], "login", StringComparison.Ordinal);
        var loginUser = access.AnonymousAllowed(context) ? Callers.Anonymous(ControlRole.Viewer) : new ClaimsPrincipal(new ClaimsIdentity());
        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(forLogin ? WithUser(context, loginUser) : context);
        context.User = user;
        var info = new SessionInfo(authenticated, authenticated ? user.Identity!.Name : null, Callers.RoleOf(user), kind, access.Settings().ReadOnly,
            access.AnonymousAllowed(context), tokens.RequestToken, expires, sessionId);
        await Http.WriteJsonAsync(context, info, json.SessionInfo).ConfigureAwait(false);
    }

    private static HttpContext WithUser(HttpContext context, ClaimsPrincipal user)
    {
        context.User = user;
        return context;
    }

    private async Task LoginAsync(HttpContext context)
    {
        var client = Callers.ClientAddress(context);
        if (await AccessMiddleware.CsrfRefusalAsync(context).ConfigureAwait(false) is { } refusal)
        {
            access.Audit.Record(new ControlCaller("?", ControlRole.None, CallerKind.User, client), AuditActions.Login, null, AuditResult.Denied, refusal);
            await Http.WriteProblemAsync(context, StatusCodes.Status403Forbidden, refusal).ConfigureAwait(false);
            return;
        }
        var settings = access.Settings();
        var body = await RequestBody.ReadAsync(context, json.LoginRequest, settings.MaxRequestBodySize, required: true).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        var name = body.Value!.User?.Trim() ?? "";
        var password = body.Value.Password ?? "";
        if (name.Length is 0 or > 64 || password.Length is 0 or > 1024 || name.Any(char.IsControl))
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, "Give 'user' (1-64 characters) and 'password'.").ConfigureAwait(false);
            return;
        }
        var attempt = new ControlCaller(name, ControlRole.None, CallerKind.User, client);

        if (access.Throttle.IsClientLocked(client, out var clientWait) || access.Throttle.IsUserLocked(name, out clientWait))
        {
            await TooManyAsync(context, attempt, clientWait, "locked out after repeated failures").ConfigureAwait(false);
            return;
        }
        if (!access.Throttle.TryAttemptUser(name, out var userWait))
        {
            await TooManyAsync(context, attempt, userWait, "too many attempts for this user name").ConfigureAwait(false);
            return;
        }

        settings.Users.TryGetValue(name, out var user);
        // An unknown user is checked against a dummy hash: the answer takes as long as for a known user with a wrong password.
        var valid = ControlPlaneSecrets.VerifyPassword(password, user?.PasswordHash ?? s_dummyHash.Value) && user is { Disabled: false };
        if (!valid)
        {
            var locked = access.Throttle.RecordLoginFailure(name, client);
            access.Audit.Record(attempt, AuditActions.Login, null, AuditResult.Failed,
                (user is { Disabled: true } ? "the user is disabled" : "wrong user name or password") + (locked ? "; now locked out" : ""));
            context.Response.Headers.WWWAuthenticate = "FormBased realm=\"AppRuntime\"";
            await Http.WriteProblemAsync(context, StatusCodes.Status401Unauthorized, "The user name or password is wrong.").ConfigureAwait(false);
            return;
        }

        access.Throttle.RecordLoginSuccess(name, client);
        await EndPresentedSessionAsync(context).ConfigureAwait(false);
        var sessionId = SessionStore.NewId();
        var principal = Callers.Principal(name, user!.Role, CallerKind.User, Schemes.Cookie, sessionId, Stamp(user.PasswordHash!));
        await context.SignInAsync(Schemes.Cookie, principal, new AuthenticationProperties { IsPersistent = false, AllowRefresh = true }).ConfigureAwait(false);
        context.User = principal;
        access.Audit.Record(new ControlCaller(name, user.Role, CallerKind.User, client), AuditActions.Login, "session " + sessionId, AuditResult.Succeeded);
        var info = new SessionInfo(true, name, user.Role, CallerKind.User, settings.ReadOnly, access.AnonymousAllowed(context), null,
            access.Sessions.CreatedAt(sessionId) + settings.Sessions.AbsoluteTimeout, sessionId);
        await Http.WriteJsonAsync(context, info, json.SessionInfo).ConfigureAwait(false);
    }

    private async Task TooManyAsync(HttpContext context, ControlCaller attempt, TimeSpan wait, string why)
    {
        access.Audit.Record(attempt, AuditActions.Login, null, AuditResult.Denied, why);
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Http.WriteProblemAsync(context, StatusCodes.Status429TooManyRequests, "Too many sign-in attempts; try again later.").ConfigureAwait(false);
    }

    /// <summary>
    /// Session fixation: a sign-in must never carry on the session key the request came with (ASP.NET Core's cookie handler would
    /// renew that key). The old session is removed from the store and its cookie dropped from the request, so the sign-in stores the
    /// ticket under a new key.
    /// </summary>
    private static async Task EndPresentedSessionAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptionsMonitor<CookieAuthenticationOptions>>().Get(Schemes.Cookie);
        var cookieName = options.Cookie.Name!;
        var cookie = options.CookieManager.GetRequestCookie(context, cookieName);
        if (string.IsNullOrEmpty(cookie))
            return;
        var old = options.TicketDataFormat.Unprotect(cookie);
        if (old?.Principal.FindFirstValue("Microsoft.AspNetCore.Authentication.Cookies-SessionId") is { } key)
            await options.SessionStore!.RemoveAsync(key, context, context.RequestAborted).ConfigureAwait(false);
        var kept = context.Request.Cookies.Where(c => !c.Key.StartsWith(cookieName, StringComparison.Ordinal)).Select(c => $"{c.Key}={c.Value}");
        context.Request.Headers.Cookie = string.Join("; ", kept);
    }

    private async Task LogoutAsync(HttpContext context)
    {
        var caller = Callers.Of(context);
        if (caller.Kind != CallerKind.User)
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, "There is no session to sign out of.").ConfigureAwait(false);
            return;
        }
        var sessionId = context.User.FindFirstValue(Callers.SessionClaim);
        await context.SignOutAsync(Schemes.Cookie).ConfigureAwait(false);
        access.Audit.Record(caller, AuditActions.Logout, "session " + sessionId, AuditResult.Succeeded);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private Task AuditAsync(HttpContext context)
    {
        if (!Http.TryGetMax(context, 100, control.Audit.Capacity, out var max, out var error))
            return Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, error!);
        return Http.WriteJsonAsync(context, control.Audit.GetRecent(max), json.IReadOnlyListAuditRecord);
    }

    private Task SessionsAsync(HttpContext context) =>
        Http.WriteJsonAsync(context, access.Sessions.List(context.User.FindFirstValue(Callers.SessionClaim), access.Settings().Sessions.AbsoluteTimeout),
            json.IReadOnlyListSessionView);

    private Task RevokeAsync(HttpContext context)
    {
        var id = Http.RouteValue(context, "id");
        var caller = Callers.Of(context);
        var user = access.Sessions.Revoke(id);
        if (user is null)
        {
            access.Audit.Record(caller, AuditActions.SessionRevoke, "session " + id, AuditResult.Failed, "no such session");
            return Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, $"There is no session '{Http.Echo(id)}'.");
        }
        access.Audit.Record(caller, AuditActions.SessionRevoke, "session " + id, AuditResult.Succeeded, "user " + user);
        return Http.WriteJsonAsync(context, new RevokeResult(id, user, true), json.RevokeResult);
    }

    /// <summary>A short fingerprint of a password hash: a changed password ends the sessions signed in with the old one.</summary>
    public static string Stamp(string passwordHash) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(passwordHash)), 0, 8);
}
