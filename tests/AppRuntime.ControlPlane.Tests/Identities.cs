using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// The identities every test host knows: users (one per role, hashed with the minimum PBKDF2 iterations so tests stay quick), API
/// keys (one per role, one expired), and JWTs issued by the test with its own RSA key against a JWKS file.
/// </summary>
internal static class Identities
{
    public const string Viewer = "vera";
    public const string Operator = "otto";
    public const string Admin = "ada";
    public const string Issuer = "https://idp.test.example";
    public const string Audience = "appruntime-control-plane";

    private static readonly Lazy<Dictionary<string, string>> s_hashes = new(() => new Dictionary<string, string>
    {
        [Viewer] = ControlPlaneSecrets.HashPassword(Password(Viewer), ControlPlaneSecrets.MinimumIterations),
        [Operator] = ControlPlaneSecrets.HashPassword(Password(Operator), ControlPlaneSecrets.MinimumIterations),
        [Admin] = ControlPlaneSecrets.HashPassword(Password(Admin), ControlPlaneSecrets.MinimumIterations),
    });

    public static readonly (string Key, string Hash) ViewerKey = ControlPlaneSecrets.CreateApiKey();
    public static readonly (string Key, string Hash) OperatorKey = ControlPlaneSecrets.CreateApiKey();
    public static readonly (string Key, string Hash) AdminKey = ControlPlaneSecrets.CreateApiKey();
    public static readonly (string Key, string Hash) ExpiredKey = ControlPlaneSecrets.CreateApiKey();

    public static readonly RSA SigningKey = RSA.Create(2048);

    /// <summary>The JWKS file with the public half of <see cref="SigningKey"/>.</summary>
    public static readonly string JwksFile = WriteJwks(SigningKey, "test-key-1");

    public static string Password(string user) => $"correct horse battery staple {user}";

    public static string Hash(string user) => s_hashes.Value[user];

    /// <summary>The configuration of users, API keys and JWT every test host starts with.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> Settings
    {
        get
        {
            const string cp = "AppRuntime:ControlPlane:";
            foreach (var (user, role) in new[] { (Viewer, "Viewer"), (Operator, "Operator"), (Admin, "Admin") })
            {
                yield return new(cp + $"Users:{user}:PasswordHash", Hash(user));
                yield return new(cp + $"Users:{user}:Role", role);
            }
            foreach (var (name, key, role) in new[] { ("viewer-bot", ViewerKey, "Viewer"), ("operator-bot", OperatorKey, "Operator"), ("admin-bot", AdminKey, "Admin"), ("old-bot", ExpiredKey, "Admin") })
            {
                yield return new(cp + $"ApiKeys:{name}:Hash", key.Hash);
                yield return new(cp + $"ApiKeys:{name}:Role", role);
            }
            yield return new(cp + "ApiKeys:old-bot:ExpiresAt", "2020-01-01T00:00:00Z");
            yield return new(cp + "Jwt:Issuer", Issuer);
            yield return new(cp + "Jwt:Audience", Audience);
            yield return new(cp + "Jwt:JwksFile", JwksFile);
            yield return new(cp + "Jwt:RoleMappings:AppRuntime.Operators", "Operator");
        }
    }

    /// <summary>A JWT signed with <see cref="SigningKey"/> (or <paramref name="key"/>) carrying <paramref name="roles"/> as a JSON array.</summary>
    public static string Jwt(string subject, string[] roles, TimeSpan? expiresIn = null, string? audience = null, string? issuer = null, RSA? key = null,
        string keyId = "test-key-1", DateTime? notBefore = null)
    {
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(10));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? Audience,
            IssuedAt = expires < now ? expires.AddMinutes(-5) : now,
            NotBefore = notBefore ?? (expires < now ? expires.AddMinutes(-5) : now),
            Expires = expires,
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["roles"] = roles },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key ?? SigningKey) { KeyId = keyId }, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>An HS256 token whose secret is the public modulus: the algorithm-confusion attack that must be refused.</summary>
    public static string SymmetricJwt(string subject, string[] roles)
    {
        var secret = SigningKey.ExportParameters(false).Modulus!;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = subject, ["roles"] = roles },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(secret) { KeyId = "test-key-1" }, SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    public static string WriteJwks(RSA key, string keyId, string? path = null)
    {
        var p = key.ExportParameters(false);
        var json = "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"" + keyId + "\",\"n\":\"" + Base64UrlEncoder.Encode(p.Modulus) + "\",\"e\":\"" + Base64UrlEncoder.Encode(p.Exponent) + "\"}]}";
        path ??= Path.Combine(Path.GetTempPath(), $"appruntime-jwks-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}

/// <summary>An HTTP client with a cookie jar, signed in through /auth/login like the login page: session cookie and antiforgery token.</summary>
internal sealed class SessionClient : IDisposable
{
    private SessionClient(HttpClient client, CookieContainer cookies)
    {
        Client = client;
        Cookies = cookies;
    }

    public HttpClient Client { get; }

    public CookieContainer Cookies { get; }

    /// <summary>The antiforgery token for the next state change.</summary>
    public string? Csrf { get; private set; }

    /// <summary>The raw Set-Cookie headers of the sign-in answer.</summary>
    public IReadOnlyList<string> LoginSetCookies { get; private set; } = [];

    public static SessionClient Create(Uri baseAddress, Func<HttpClientHandler, HttpClientHandler>? configure = null)
    {
        var cookies = new CookieContainer();
        var handler = new HttpClientHandler { CookieContainer = cookies, UseCookies = true, AllowAutoRedirect = false };
        configure?.Invoke(handler);
        return new SessionClient(new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) }, cookies);
    }

    public static async Task<SessionClient> SignInAsync(Uri baseAddress, string user, string password, Func<HttpClientHandler, HttpClientHandler>? configure = null)
    {
        var client = Create(baseAddress, configure);
        using var response = await client.LoginAsync(user, password);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"sign-in as {user} answered {(int)response.StatusCode}: {body}");
        await client.RefreshCsrfAsync();
        return client;
    }

    /// <summary>Fetches /auth/session (antiforgery cookie and token) and posts the credentials.</summary>
    public async Task<HttpResponseMessage> LoginAsync(string user, string password)
    {
        await RefreshCsrfAsync(forLogin: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/auth/login")
        {
            Content = new StringContent(JsonSerializer.Serialize(new LoginBody(user, password), TestJson.Default.LoginBody), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-CSRF-Token", Csrf);
        var response = await Client.SendAsync(request);
        LoginSetCookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? [.. values] : [];
        return response;
    }

    public async Task<JsonElement> RefreshCsrfAsync(bool forLogin = false)
    {
        using var response = await Client.GetAsync(forLogin ? "/auth/session?purpose=login" : "/auth/session");
        var session = await TestHost.JsonAsync(response);
        Csrf = session.GetProperty("csrfToken").GetString();
        return session;
    }

    public Task<HttpResponseMessage> GetAsync(string path) => Client.GetAsync(path);

    public Task<HttpResponseMessage> PostAsync(string path, string? json = null, bool csrf = true, string? origin = null, string? fetchSite = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (csrf && Csrf is not null)
            request.Headers.Add("X-CSRF-Token", Csrf);
        if (origin is not null)
            request.Headers.Add("Origin", origin);
        if (fetchSite is not null)
            request.Headers.Add("Sec-Fetch-Site", fetchSite);
        return Client.SendAsync(request);
    }

    public void Dispose() => Client.Dispose();
}

internal sealed record LoginBody(string User, string Password);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(LoginBody))]
internal sealed partial class TestJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>A bearer header value.</summary>
internal static class Bearer
{
    public static AuthenticationHeaderValue Of(string token) => new("Bearer", token);
}
