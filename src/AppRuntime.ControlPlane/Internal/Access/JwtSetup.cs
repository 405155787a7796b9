using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AppRuntime.Internal;

/// <summary>
/// JWT bearer tokens through ASP.NET Core's <see cref="JwtBearerHandler"/> (native-AOT clean with static keys, a key resolver or a
/// configuration manager): issuer, audience, lifetime and signature are checked by Microsoft.IdentityModel; the roles claim is then
/// mapped to one <see cref="ControlRole"/>. Signing keys come from a JWKS file (re-read when it changes), a JWKS URL or an OpenID
/// Connect authority (both fetched and refreshed by IdentityModel's <see cref="ConfigurationManager{T}"/>). Only asymmetric
/// algorithms are accepted.
/// </summary>
internal static class JwtSetup
{
    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public static void Configure(JwtBearerOptions options, ControlPlaneJwtSettings jwt, AccessServices access, TimeProvider time)
    {
        options.MapInboundClaims = false;
        options.TimeProvider = time;
        options.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
        options.SaveToken = false;
        options.IncludeErrorDetails = true;
        var parameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = string.IsNullOrWhiteSpace(jwt.Issuer) ? null : jwt.Issuer,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ValidAlgorithms = Algorithms,
            ClockSkew = jwt.ClockSkew,
            NameClaimType = jwt.NameClaim,
            RoleClaimType = jwt.RolesClaim,
        };
        if (!string.IsNullOrWhiteSpace(jwt.JwksFile))
        {
            var keys = new JwksFileKeys(jwt.JwksFile);
            parameters.IssuerSigningKeyResolver = (_, _, _, _) => keys.Current;
        }
        else if (!string.IsNullOrWhiteSpace(jwt.JwksUrl))
        {
            options.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(jwt.JwksUrl, new JwksRetriever(),
                new HttpDocumentRetriever { RequireHttps = jwt.RequireHttpsMetadata });
        }
        else
        {
            options.Authority = jwt.Authority;
        }
        options.TokenValidationParameters = parameters;

        options.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                var client = Callers.ClientAddress(context.HttpContext);
                if (access.Throttle.IsClientLocked(client, out var remaining))
                {
                    context.HttpContext.Items[Callers.LockedOutKey] = remaining;
                    context.Fail("Too many refused credentials from this address; try again later.");
                }
                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                var principal = context.Principal!;
                var name = principal.FindFirstValue(jwt.NameClaim) ?? "?";
                var role = MapRole(principal.FindAll(jwt.RolesClaim).Select(c => c.Value), jwt.RoleMappings);
                context.Principal = Callers.Principal(name, role, CallerKind.Jwt, context.Scheme.Name);
                return Task.CompletedTask;
            },
            OnAuthenticationFailed = context =>
            {
                var client = Callers.ClientAddress(context.HttpContext);
                access.Throttle.RecordCredentialFailure(client);
                access.Audit.Record(new ControlCaller("?", ControlRole.None, CallerKind.Jwt, client), AuditActions.Authenticate,
                    context.HttpContext.Request.Path.Value, AuditResult.Failed, Describe(context.Exception));
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The highest role the claim values name: a mapping first, else the role names themselves (any case).</summary>
    public static ControlRole MapRole(IEnumerable<string> values, IReadOnlyDictionary<string, ControlRole> mappings)
    {
        var best = ControlRole.None;
        foreach (var value in values)
        {
            var role = mappings.TryGetValue(value, out var mapped) ? mapped
                : Enum.TryParse<ControlRole>(value, ignoreCase: true, out var named) && Enum.IsDefined(named) && !int.TryParse(value, out _) ? named
                : ControlRole.None;
            if (role > best)
                best = role;
        }
        return best;
    }

    /// <summary>A short reason for a refused token, without the token.</summary>
    public static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException expired => $"The bearer token expired at {expired.Expires:u}.",
        SecurityTokenNotYetValidException => "The bearer token is not valid yet.",
        SecurityTokenInvalidAudienceException => "The bearer token is for another audience.",
        SecurityTokenInvalidIssuerException => "The bearer token comes from another issuer.",
        SecurityTokenSignatureKeyNotFoundException => "The bearer token is signed with an unknown key.",
        SecurityTokenInvalidSignatureException => "The bearer token's signature is not valid.",
        SecurityTokenInvalidAlgorithmException => "The bearer token's algorithm is not accepted.",
        SecurityTokenException => "The bearer token is not valid.",
        null => "The bearer token is not valid.",
        _ => failure.Message,
    };

    /// <summary>Reads a JWKS document from a URL into a configuration that carries only signing keys.</summary>
    private sealed class JwksRetriever : IConfigurationRetriever<OpenIdConnectConfiguration>
    {
        public async Task<OpenIdConnectConfiguration> GetConfigurationAsync(string address, IDocumentRetriever retriever, CancellationToken cancel)
        {
            var json = await retriever.GetDocumentAsync(address, cancel).ConfigureAwait(false);
            var set = new JsonWebKeySet(json);
            var configuration = new OpenIdConnectConfiguration { JsonWebKeySet = set };
            foreach (var key in set.GetSigningKeys())
                configuration.SigningKeys.Add(key);
            return configuration;
        }
    }
}

/// <summary>The signing keys of a JWKS file, read again when the file's time stamp changes.</summary>
internal sealed class JwksFileKeys(string path)
{
    private readonly Lock _lock = new();
    private DateTime _stamp;
    private IReadOnlyList<SecurityKey> _keys = [];

    public IEnumerable<SecurityKey> Current
    {
        get
        {
            var stamp = File.GetLastWriteTimeUtc(path);
            lock (_lock)
            {
                if (stamp != _stamp)
                {
                    try
                    {
                        _keys = Read(path);
                        _stamp = stamp;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
                    {
                        // Keep the keys read last; a file being rewritten is read again at the next token.
                    }
                }
                return _keys;
            }
        }
    }

    /// <summary>Reads the signing keys of a JWKS file; throws <see cref="ArgumentException"/> when it is not a key set.</summary>
    public static IReadOnlyList<SecurityKey> Read(string path) => [.. new JsonWebKeySet(File.ReadAllText(path)).GetSigningKeys()];
}
