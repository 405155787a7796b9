using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>Sign-in and credential attempts are rate limited per client and per user, and lock out after repeated failures (fake clock).</summary>
public sealed class RateLimitTests
{
    [Fact]
    public async Task A_user_name_is_locked_out_after_repeated_failures_even_for_the_right_password_until_the_lockout_passes()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(settings: Limits(maxUser: 3, lockout: "00:15:00"), controlPlaneTime: time);
        using var client = SessionClient.Create(host.BaseAddress);

        for (var i = 0; i < 3; i++)
        {
            using var wrong = await client.LoginAsync(Identities.Operator, "not the password at all");
            await TestHost.AssertProblemAsync(wrong, 401);
        }
        using (var locked = await client.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator)))
        {
            await TestHost.AssertProblemAsync(locked, 429);
            Assert.Equal(TimeSpan.FromMinutes(15), locked.Headers.RetryAfter!.Delta);
        }
        // Another user from the same address is not locked.
        using (var other = await client.LoginAsync(Identities.Viewer, Identities.Password(Identities.Viewer)))
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        time.Advance(TimeSpan.FromMinutes(14));
        using (var stillLocked = await client.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator)))
            Assert.Equal(TimeSpan.FromMinutes(1), stillLocked.Headers.RetryAfter!.Delta);
        time.Advance(TimeSpan.FromMinutes(1));
        using (var open = await client.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator)))
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);

        var audit = host.Control.Audit.GetRecent(20).Where(a => a.Action == AuditActions.Login && a.Actor == Identities.Operator).Reverse().ToList();
        Assert.Equal([AuditResult.Failed, AuditResult.Failed, AuditResult.Failed, AuditResult.Denied, AuditResult.Denied, AuditResult.Succeeded], audit.Select(a => a.Result));
        Assert.Contains("locked out", audit[2].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Old_failures_are_forgotten_and_a_success_clears_the_count()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(settings: Limits(maxUser: 3, lockout: "00:10:00"), controlPlaneTime: time);
        using var client = SessionClient.Create(host.BaseAddress);

        async Task FailAsync()
        {
            using var wrong = await client.LoginAsync(Identities.Operator, "not the password at all");
            await TestHost.AssertProblemAsync(wrong, 401);
        }
        await FailAsync();
        await FailAsync();
        time.Advance(TimeSpan.FromMinutes(11)); // older than the lockout duration: forgotten
        await FailAsync();
        await FailAsync();
        using (var ok = await client.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator)))
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await FailAsync();
        await FailAsync();
        using (var stillOk = await client.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator)))
            Assert.Equal(HttpStatusCode.OK, stillOk.StatusCode);
    }

    [Fact]
    public async Task A_client_that_presents_wrong_api_keys_is_locked_out_of_every_credential_check_then_let_in_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(settings: Limits(maxClient: 5, lockout: "00:05:00"), controlPlaneTime: time);

        for (var i = 0; i < 5; i++)
        {
            using var wrong = await host.GetAsync("/api/status", ControlPlaneSecrets.CreateApiKey().Key);
            await TestHost.AssertProblemAsync(wrong, 401);
        }
        // Locked: even a valid key and a valid JWT from this address wait, and the keys are not even compared.
        using (var locked = await host.GetAsync("/api/status", Identities.AdminKey.Key))
        {
            await TestHost.AssertProblemAsync(locked, 429);
            Assert.Equal(TimeSpan.FromMinutes(5), locked.Headers.RetryAfter!.Delta);
        }
        using (var lockedJwt = await host.GetAsync("/api/status", Identities.Jwt(Identities.Admin, ["admin"])))
            await TestHost.AssertProblemAsync(lockedJwt, 429);

        time.Advance(TimeSpan.FromMinutes(5));
        using (var open = await host.GetAsync("/api/status", Identities.AdminKey.Key))
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
        var refused = host.Control.Audit.GetRecent(50).Where(a => a.Action == AuditActions.Authenticate).ToList();
        Assert.Equal(5, refused.Count);
        Assert.All(refused, a => Assert.Equal("127.0.0.1", a.ClientAddress));
    }

    [Fact]
    public async Task Sign_in_attempts_are_rate_limited_per_client_address_by_the_aspnetcore_rate_limiter()
    {
        await using var host = await TestHost.StartAsync(settings: Limits(perClient: 3, maxUser: 100, maxClient: 100));
        using var client = SessionClient.Create(host.BaseAddress);

        // The window starts at the first attempt and lasts a minute; the fourth attempt within it is refused before any check.
        for (var i = 0; i < 3; i++)
        {
            using var wrong = await client.LoginAsync($"user{i}", "not the password at all");
            await TestHost.AssertProblemAsync(wrong, 401);
        }
        using var limited = await client.LoginAsync(Identities.Operator, Identities.Password(Identities.Operator));

        Assert.Contains("from this address", await TestHost.AssertProblemAsync(limited, 429), StringComparison.Ordinal);
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Contains(host.Control.Audit.GetRecent(5), a => a.Action == AuditActions.Login && a.Result == AuditResult.Denied && a.Detail == "rate limit");
    }

    [Fact]
    public async Task Sign_in_attempts_are_rate_limited_per_user_name_from_any_address()
    {
        await using var host = await TestHost.StartAsync(settings: Limits(perUser: 2, maxUser: 100, maxClient: 100));
        using var client = SessionClient.Create(host.BaseAddress);

        for (var i = 0; i < 2; i++)
        {
            using var wrong = await client.LoginAsync(Identities.Admin, "not the password at all");
            await TestHost.AssertProblemAsync(wrong, 401);
        }
        using var limited = await client.LoginAsync(Identities.Admin, Identities.Password(Identities.Admin));
        await TestHost.AssertProblemAsync(limited, 429);
        using var otherUser = await client.LoginAsync(Identities.Viewer, Identities.Password(Identities.Viewer));
        Assert.Equal(HttpStatusCode.OK, otherUser.StatusCode);
    }

    private static Dictionary<string, string?> Limits(int perClient = 1000, int perUser = 1000, int maxUser = 5, int maxClient = 1000, string lockout = "00:15:00") => new()
    {
        ["AppRuntime:ControlPlane:Login:AttemptsPerClientPerMinute"] = perClient.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["AppRuntime:ControlPlane:Login:AttemptsPerUserPerMinute"] = perUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["AppRuntime:ControlPlane:Login:MaxFailuresPerUser"] = maxUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["AppRuntime:ControlPlane:Login:MaxFailuresPerClient"] = maxClient.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["AppRuntime:ControlPlane:Login:LockoutDuration"] = lockout,
    };
}
