using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>Dashboard sessions as a client sees them: cookie flags, fixation, expiry, sign-out, revocation, CSRF refusals.</summary>
public sealed class SessionTests
{
    [Fact]
    public async Task Over_loopback_http_the_session_cookie_is_HttpOnly_SameSite_Strict_and_path_wide_without_Secure()
    {
        await using var host = await TestHost.StartAsync();
        using var session = await host.SignInAsync(Identities.Operator);

        var cookie = Assert.Single(session.LoginSetCookies, c => c.StartsWith("AppRuntime=", StringComparison.Ordinal));
        var flags = Flags(cookie);
        Assert.Contains("httponly", flags);
        Assert.Contains("samesite=strict", flags);
        Assert.Contains("path=/", flags);
        Assert.DoesNotContain("secure", flags);
        Assert.DoesNotContain(flags, f => f.StartsWith("expires=", StringComparison.Ordinal) || f.StartsWith("domain=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Over_https_the_session_cookie_is_a_Secure_Host_prefixed_cookie()
    {
        var (pfx, password) = WriteSelfSignedCertificate();
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Urls"] = "https://127.0.0.1:0",
            ["AppRuntime:ControlPlane:Certificate:Path"] = pfx,
            ["AppRuntime:ControlPlane:Certificate:Password"] = password,
        });
        Assert.Equal("https", host.BaseAddress.Scheme);

        using var session = await SessionClient.SignInAsync(host.BaseAddress, Identities.Operator, Identities.Password(Identities.Operator),
            handler => { handler.ServerCertificateCustomValidationCallback = (_, _, _, _) => true; return handler; });

        var cookie = Assert.Single(session.LoginSetCookies, c => c.StartsWith("__Host-AppRuntime=", StringComparison.Ordinal));
        var flags = Flags(cookie);
        Assert.Contains("secure", flags);
        Assert.Contains("httponly", flags);
        Assert.Contains("samesite=strict", flags);
        Assert.Contains("path=/", flags);
        Assert.DoesNotContain(flags, f => f.StartsWith("domain=", StringComparison.Ordinal));
        using var status = await session.GetAsync("/api/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
    }

    [Fact]
    public async Task Signing_in_again_gives_a_new_session_and_ends_the_one_the_request_carried()
    {
        await using var host = await TestHost.StartAsync();
        using var session = await host.SignInAsync(Identities.Operator);
        var first = SessionCookie(session);
        var firstId = (await session.RefreshCsrfAsync()).GetProperty("sessionId").GetString();

        using (var again = await session.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator)))
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var second = SessionCookie(session);
        var secondId = (await session.RefreshCsrfAsync()).GetProperty("sessionId").GetString();

        Assert.NotEqual(first, second);
        Assert.NotEqual(firstId, secondId);
        // The first cookie no longer opens anything: its session is gone from the server.
        using var replay = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = host.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/traces/recent");
        request.Headers.Add("Cookie", "AppRuntime=" + first);
        using var refused = await replay.SendAsync(request);
        Assert.Contains("session has ended", await TestHost.AssertProblemAsync(refused, 401), StringComparison.Ordinal);
        Assert.Equal(1, host.Host.Services.GetRequiredService<AppRuntime.Internal.ControlPlaneHostedService>().Sessions!.Count);
    }

    [Fact]
    public async Task A_session_ends_after_the_idle_timeout_slides_while_used_and_ends_at_the_absolute_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Sessions:IdleTimeout"] = "00:10:00",
            ["AppRuntime:ControlPlane:Sessions:AbsoluteTimeout"] = "00:25:00",
        }, controlPlaneTime: time);
        using var active = await host.SignInAsync(Identities.Operator);
        using var idle = await host.SignInAsync(Identities.Admin);

        // The active session is used every 6 minutes (past half the idle timeout, so the cookie handler slides it).
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromMinutes(6));
            using var ok = await active.GetAsync("/api/traces/recent");
            Assert.True(ok.StatusCode == HttpStatusCode.OK, $"the active session works at minute {(i + 1) * 6}");
        }
        // 18 minutes in: the idle one has been unused for longer than 10 minutes.
        using (var expired = await idle.GetAsync("/api/status"))
            await TestHost.AssertProblemAsync(expired, 401);

        // Past 25 minutes the active one ends too, however active.
        time.Advance(TimeSpan.FromMinutes(5));
        using (var stillOk = await active.GetAsync("/api/status"))
            Assert.Equal(HttpStatusCode.OK, stillOk.StatusCode);
        time.Advance(TimeSpan.FromMinutes(3));
        using (var ended = await active.GetAsync("/api/status"))
            await TestHost.AssertProblemAsync(ended, 401);
    }

    [Fact]
    public async Task Signing_out_ends_the_session_on_the_server()
    {
        await using var host = await TestHost.StartAsync();
        using var session = await host.SignInAsync(Identities.Operator);
        var cookie = SessionCookie(session);

        using (var logout = await session.PostAsync("/auth/logout"))
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);

        using var replay = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = host.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/traces/recent");
        request.Headers.Add("Cookie", "AppRuntime=" + cookie);
        using var refused = await replay.SendAsync(request);
        await TestHost.AssertProblemAsync(refused, 401);
    }

    [Fact]
    public async Task An_admin_lists_sessions_and_revokes_one_which_ends_at_its_next_request()
    {
        await using var host = await TestHost.StartAsync();
        using var victim = await host.SignInAsync(Identities.Operator);
        using var admin = await host.SignInAsync(Identities.Admin);

        using var list = await admin.GetAsync("/api/sessions");
        var sessions = (await TestHost.JsonAsync(list)).EnumerateArray().ToList();
        Assert.Equal(2, sessions.Count);
        var target = sessions.Single(s => s.GetProperty("user").GetString() == Identities.Operator);
        Assert.False(target.GetProperty("current").GetBoolean());
        Assert.True(sessions.Single(s => s.GetProperty("user").GetString() == Identities.Admin).GetProperty("current").GetBoolean());
        Assert.Equal("127.0.0.1", target.GetProperty("clientAddress").GetString());

        using (var revoke = await admin.PostAsync($"/api/sessions/{target.GetProperty("id").GetString()}/revoke"))
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        using (var refused = await victim.GetAsync("/api/status"))
            Assert.Contains("session has ended", await TestHost.AssertProblemAsync(refused, 401), StringComparison.Ordinal);
        using (var stillAdmin = await admin.GetAsync("/api/sessions"))
            Assert.Single((await TestHost.JsonAsync(stillAdmin)).EnumerateArray());
    }

    [Fact]
    public async Task A_reload_that_changes_a_role_disables_a_user_or_changes_a_password_applies_to_open_sessions()
    {
        await using var host = await TestHost.StartAsync();
        using var session = await host.SignInAsync(Identities.Operator);
        using (var ok = await session.GetAsync("/api/traces/recent"))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        host.Reconfigure($"AppRuntime:ControlPlane:Users:{Identities.Operator}:Role", "Viewer");
        using (var demoted = await session.GetAsync("/api/traces/recent"))
            Assert.Contains("operator role", await TestHost.AssertProblemAsync(demoted, 403), StringComparison.Ordinal);

        host.Reconfigure($"AppRuntime:ControlPlane:Users:{Identities.Operator}:PasswordHash",
            ControlPlaneSecrets.HashPassword("a brand new password!", ControlPlaneSecrets.MinimumIterations));
        using (var ended = await session.GetAsync("/api/status"))
            await TestHost.AssertProblemAsync(ended, 401);

        using var admin = await host.SignInAsync(Identities.Admin);
        host.Reconfigure($"AppRuntime:ControlPlane:Users:{Identities.Admin}:Disabled", "true");
        using (var disabled = await admin.GetAsync("/api/status"))
            await TestHost.AssertProblemAsync(disabled, 401);
        using var again = SessionClient.Create(host.BaseAddress);
        using (var refused = await again.LoginAsync(Identities.Admin, Identities.Password(Identities.Admin)))
            await TestHost.AssertProblemAsync(refused, 401);
    }

    [Theory]
    [InlineData(false, null, null, "antiforgery")]
    [InlineData(true, "http://evil.example", null, "Origin")]
    [InlineData(true, null, "cross-site", "Sec-Fetch-Site")]
    [InlineData(true, null, "same-site", "Sec-Fetch-Site")]
    public async Task A_cookie_authenticated_state_change_without_proof_of_same_origin_is_refused(bool csrf, string? origin, string? fetchSite, string reason)
    {
        await using var host = await TestHost.StartAsync();
        using var session = await host.SignInAsync(Identities.Operator);

        using var response = await session.PostAsync("/api/sources/order-feed/pause", csrf: csrf, origin: origin, fetchSite: fetchSite);

        Assert.Contains(reason, await TestHost.AssertProblemAsync(response, 403), StringComparison.Ordinal);
        Assert.False(host.Control.GetSources().Single(s => s.Name == "order-feed").Paused);
        var denied = host.Control.Audit.GetRecent(5).First(a => a.Action == AuditActions.SourcePause);
        Assert.Equal(AuditResult.Denied, denied.Result);
        Assert.Equal(Identities.Operator, denied.Actor);

        using var same = await session.PostAsync("/api/sources/order-feed/pause", origin: host.BaseAddress.GetLeftPart(UriPartial.Authority), fetchSite: "same-origin");
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
    }

    [Fact]
    public async Task A_sign_in_from_another_origin_is_refused()
    {
        await using var host = await TestHost.StartAsync();
        using var client = SessionClient.Create(host.BaseAddress);
        await client.RefreshCsrfAsync(forLogin: true);

        using var response = await client.PostAsync("/auth/login", """{"user":"otto","password":"correct horse battery staple otto"}""", origin: "http://evil.example");

        Assert.Contains("Origin", await TestHost.AssertProblemAsync(response, 403), StringComparison.Ordinal);
    }

    private static string SessionCookie(SessionClient session) =>
        session.Cookies.GetCookies(session.Client.BaseAddress!).Single(c => c.Name == "AppRuntime").Value;

    private static List<string> Flags(string setCookie) =>
        [.. setCookie.Split(';').Skip(1).Select(f => f.Trim().ToLowerInvariant())];

    private static (string Path, string Password) WriteSelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        var path = Path.Combine(Path.GetTempPath(), $"appruntime-test-{Guid.NewGuid():N}.pfx");
        const string password = "pfx-password-for-tests";
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return (path, password);
    }
}
