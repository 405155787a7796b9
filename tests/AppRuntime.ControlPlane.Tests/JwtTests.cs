using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>JWT bearer tokens issued by the test itself with its own RSA key, checked against a JWKS file (or a JWKS URL on loopback).</summary>
public sealed class JwtTests
{
    [Theory]
    [InlineData(new[] { "viewer" }, "/api/status", 200)]
    [InlineData(new[] { "viewer" }, "/api/traces/recent", 403)]
    [InlineData(new[] { "Operator" }, "/api/traces/recent", 200)]
    [InlineData(new[] { "AppRuntime.Operators" }, "/api/traces/recent", 200)] // Jwt:RoleMappings
    [InlineData(new[] { "viewer", "admin" }, "/api/audit", 200)] // the highest role counts
    [InlineData(new[] { "something-else" }, "/api/status", 403)] // authenticated, but no AppRuntime role
    [InlineData(new string[0], "/api/status", 403)]
    public async Task The_roles_claim_maps_to_a_role(string[] roles, string path, int expected)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.GetAsync(path, Identities.Jwt("svc-deploy", roles));

        Assert.Equal(expected, (int)response.StatusCode);
    }

    public static TheoryData<string, string> RefusedTokens => new()
    {
        { Identities.Jwt("a", ["admin"], expiresIn: TimeSpan.FromMinutes(-5)), "expired" },
        { Identities.Jwt("a", ["admin"], audience: "another-service"), "another audience" },
        { Identities.Jwt("a", ["admin"], issuer: "https://evil.example"), "another issuer" },
        { Identities.Jwt("a", ["admin"], key: RSA.Create(2048)), "signature" },
        { Identities.Jwt("a", ["admin"], key: RSA.Create(2048), keyId: "unknown-key"), "unknown key" },
        { Identities.Jwt("a", ["admin"], notBefore: DateTime.UtcNow.AddHours(1), expiresIn: TimeSpan.FromHours(2)), "not valid yet" },
        { Identities.SymmetricJwt("a", ["admin"]), "not" },
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task A_token_that_fails_validation_gets_401_with_the_reason_and_an_audit_record(string token, string reason)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.GetAsync("/api/status", token);

        Assert.Contains(reason, await TestHost.AssertProblemAsync(response, 401), StringComparison.Ordinal);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains("Bearer", challenge, StringComparison.Ordinal);
        Assert.Contains("invalid_token", challenge, StringComparison.Ordinal);
        var record = host.Control.Audit.GetRecent(1).Single();
        Assert.Equal((AuditActions.Authenticate, CallerKind.Jwt, AuditResult.Failed), (record.Action, record.ActorKind, record.Result));
    }

    [Fact]
    public async Task A_rewritten_jwks_file_is_used_for_the_next_token()
    {
        var path = Identities.WriteJwks(Identities.SigningKey, "test-key-1", Path.Combine(Path.GetTempPath(), $"appruntime-jwks-{Guid.NewGuid():N}.json"));
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:Jwt:JwksFile"] = path });
        using (var before = await host.GetAsync("/api/status", Identities.Jwt("a", ["viewer"])))
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);

        using var rotated = RSA.Create(2048);
        Identities.WriteJwks(rotated, "test-key-2", path);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));

        using (var newKey = await host.GetAsync("/api/status", Identities.Jwt("a", ["viewer"], key: rotated, keyId: "test-key-2")))
            Assert.Equal(HttpStatusCode.OK, newKey.StatusCode);
        using (var oldKey = await host.GetAsync("/api/status", Identities.Jwt("a", ["viewer"])))
            await TestHost.AssertProblemAsync(oldKey, 401);
    }

    [Fact]
    public async Task Signing_keys_can_come_from_a_jwks_url()
    {
        var jwks = await File.ReadAllTextAsync(Identities.JwksFile);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        await using var idp = builder.Build();
        idp.UseRouting();
        var fetched = 0;
        idp.MapGet("/jwks.json", context =>
        {
            Interlocked.Increment(ref fetched);
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(jwks);
        });
        await idp.StartAsync();
        var url = idp.Urls.Single() + "/jwks.json";

        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Jwt:JwksFile"] = null,
            ["AppRuntime:ControlPlane:Jwt:JwksUrl"] = url,
            ["AppRuntime:ControlPlane:Jwt:RequireHttpsMetadata"] = "false",
        });

        using var response = await host.GetAsync("/api/traces/recent", Identities.Jwt("svc", ["operator"]));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(fetched >= 1);
    }

    [Fact]
    public async Task Incomplete_jwt_settings_are_reported_with_the_other_configuration_errors()
    {
        using var host = TestHost.Build(settings: new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Jwt:JwksFile"] = "/no/such/jwks.json",
            ["AppRuntime:ControlPlane:Jwt:JwksUrl"] = "http://idp.example/keys",
            ["AppRuntime:ControlPlane:Users:eve:PasswordHash"] = "sha1:abc",
            ["AppRuntime:ControlPlane:ApiKeys:ci:Hash"] = "plain-text-key",
            ["AppRuntime:ControlPlane:AnonymousRole"] = "Admin",
        });

        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());

        var keys = error.Errors.Select(e => e.KeyPath).ToList();
        Assert.Contains("AppRuntime:ControlPlane:Jwt", keys);
        Assert.Contains("AppRuntime:ControlPlane:Jwt:JwksUrl", keys);
        Assert.Contains("AppRuntime:ControlPlane:Jwt:JwksFile", keys);
        Assert.Contains("AppRuntime:ControlPlane:Users:eve:PasswordHash", keys);
        Assert.Contains("AppRuntime:ControlPlane:ApiKeys:ci:Hash", keys);
        Assert.Contains("AppRuntime:ControlPlane:AnonymousRole", keys);
        Assert.DoesNotContain(error.Errors, e => e.Message.Contains("plain-text-key", StringComparison.Ordinal));
    }
}
