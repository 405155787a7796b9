using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AppRuntime.Internal;

/// <summary>Options of <see cref="ApiKeyAuthenticationHandler"/>: where the current settings and the shared services come from.</summary>
internal sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    public Func<ControlPlaneOptions> Settings { get; set; } = () => new ControlPlaneOptions();

    public AccessServices? Access { get; set; }
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c> against the configured API keys (SHA-256 of
/// the key, compared in constant time with every configured hash) and the deprecated admin token. Keys are read from the current
/// configuration at each request, so a reload adds, removes or expires keys at once. A refused key counts against the client's
/// lockout; a locked-out client is refused before any comparison.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<ApiKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented();
        if (presented is null)
            return Task.FromResult(AuthenticateResult.NoResult());
        var access = Options.Access!;
        var client = Callers.ClientAddress(Context);
        if (access.Throttle.IsClientLocked(client, out var remaining))
        {
            Context.Items[Callers.LockedOutKey] = remaining;
            return Task.FromResult(AuthenticateResult.Fail("Too many refused credentials from this address; try again later."));
        }

        var settings = Options.Settings();
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        string? matched = null;
        ControlPlaneApiKeySettings? key = null;
        foreach (var (name, candidate) in settings.ApiKeys)
        {
            // Every configured key is compared, matched or not, so the time taken does not tell which one came close.
            if (candidate.Hash is not null && ControlPlaneSecrets.TryParseApiKeyHash(candidate.Hash, out var expected)
                && CryptographicOperations.FixedTimeEquals(hash, expected) && matched is null)
            {
                matched = name;
                key = candidate;
            }
        }
        if (key is not null)
        {
            if (key.ExpiresAt is { } expires && expires <= TimeProvider.GetUtcNow())
                return Task.FromResult(Refuse(client, matched!, $"The API key '{matched}' expired at {expires:u}."));
            var principal = Callers.Principal(matched!, key.Role, CallerKind.ApiKey, Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
        }
        if (!string.IsNullOrEmpty(settings.Token)
            && CryptographicOperations.FixedTimeEquals(hash, SHA256.HashData(Encoding.UTF8.GetBytes(settings.Token))))
        {
            var principal = Callers.Principal("token", ControlRole.Admin, CallerKind.Token, Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
        }
        return Task.FromResult(Refuse(client, null, "The API key or token is not valid."));
    }

    private AuthenticateResult Refuse(string client, string? keyName, string reason)
    {
        var access = Options.Access!;
        // The failure that reaches the limit is still answered 401; the lockout refuses the next ones.
        access.Throttle.RecordCredentialFailure(client);
        access.Audit.Record(new ControlCaller(keyName ?? "?", ControlRole.None, CallerKind.ApiKey, client), AuditActions.Authenticate, Context.Request.Path.Value,
            AuditResult.Failed, reason);
        return AuthenticateResult.Fail(reason);
    }

    /// <summary>The key of <c>Authorization: Bearer</c> (any case of the scheme) or <c>X-Api-Key</c>; "" for a malformed header, so it is refused.</summary>
    private string? Presented()
    {
        var headers = Request.Headers;
        if (headers.Authorization.Count > 0)
        {
            if (headers.Authorization.Count != 1)
                return "";
            var value = headers.Authorization[0] ?? "";
            const string bearer = "Bearer ";
            return value.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) ? value[bearer.Length..].Trim() : "";
        }
        if (headers.TryGetValue(Schemes.ApiKeyHeader, out var key))
            return key.Count == 1 ? (key[0] ?? "").Trim() : "";
        return null;
    }
}
