using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>Every kind of audited action leaves one record with who, role, action, target, result, time and client address.</summary>
public sealed class AuditTests
{
    [Fact]
    public async Task Every_action_type_is_recorded_once_with_who_role_target_result_time_and_client()
    {
        await using var host = await TestHost.StartAsync(b => Sample.Compose(b, new SampleBehaviour { FailEvery = 1 }));
        await host.Host.Services.GetRequiredService<ITaskPublisher<Order>>().PublishAsync(new Order(1), new TaskPublishOptions { Id = "o-1" });
        await AppRuntime.TestSupport.Eventually.TrueAsync(async () => (await host.Control.GetDeadLettersAsync("orders")).Value!.Count == 1, "the order is dead-lettered");
        var before = DateTimeOffset.UtcNow;
        var audit = host.Control.Audit;
        var start = audit.GetRecent(1).FirstOrDefault()?.Sequence ?? 0;

        using var badLogin = SessionClient.Create(host.BaseAddress);
        (await badLogin.LoginAsync(Identities.Operator, "wrong password here")).Dispose();
        using var otto = await host.SignInAsync(Identities.Operator);
        using var ada = await host.SignInAsync(Identities.Admin);
        using var vera = await host.SignInAsync(Identities.Viewer);
        var operatorJwt = Identities.Jwt("robot-7", ["AppRuntime.Operators"]);

        async Task Ok(Task<HttpResponseMessage> call)
        {
            using var response = await call;
            Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage!.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await Ok(otto.PostAsync("/api/sources/order-feed/pause"));
        await Ok(otto.PostAsync("/api/sources/order-feed/resume"));
        await Ok(host.PostAsync("/api/pools/emails/pause", token: Identities.OperatorKey.Key));
        await Ok(host.PostAsync("/api/pools/emails/resume", token: Identities.OperatorKey.Key));
        await Ok(host.PostAsync("/api/pools/emails/scale", """{"workers":3}""", token: operatorJwt));
        await Ok(otto.GetAsync("/api/deadletters/orders/o-1"));
        await Ok(otto.PostAsync("/api/deadletters/orders/retry", """{"ids":["o-1"]}"""));
        await AppRuntime.TestSupport.Eventually.TrueAsync(async () => (await host.Control.GetDeadLettersAsync("orders")).Value!.Count == 1, "dead-lettered again");
        await Ok(otto.PostAsync("/api/deadletters/orders/purge"));
        await Ok(ada.PostAsync("/api/config/reload"));
        using (var denied = await vera.PostAsync("/api/pools/orders/pause"))
            Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        (await host.GetAsync("/api/status", ControlPlaneSecrets.CreateApiKey().Key)).Dispose();
        var sessions = await TestHost.JsonAsync(await ada.GetAsync("/api/sessions"));
        var veraSession = sessions.EnumerateArray().Single(s => s.GetProperty("user").GetString() == Identities.Viewer).GetProperty("id").GetString();
        await Ok(ada.PostAsync($"/api/sessions/{veraSession}/revoke"));
        using (var logout = await otto.PostAsync("/auth/logout"))
            Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        await Ok(ada.PostAsync("/api/runtime/stop"));

        var records = audit.GetRecent(100).Where(a => a.Sequence > start).Reverse().ToList();
        var client = "127.0.0.1";
        void Expect(string action, string actor, CallerKind kind, ControlRole role, string? target, AuditResult result, string? detail = null)
        {
            var matching = records.Where(r => r.Action == action && r.Actor == actor && r.Result == result && r.Target == target).ToList();
            var record = Assert.Single(matching);
            Assert.Equal(kind, record.ActorKind);
            Assert.Equal(role, record.Role);
            Assert.Equal(client, record.ClientAddress);
            Assert.InRange(record.Time, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
            if (detail is not null)
                Assert.Contains(detail, record.Detail, StringComparison.Ordinal);
        }
        Expect(AuditActions.Login, Identities.Operator, CallerKind.User, ControlRole.None, null, AuditResult.Failed, "wrong user name or password");
        Assert.Equal(3, records.Count(r => r.Action == AuditActions.Login && r.Result == AuditResult.Succeeded));
        Assert.Contains(records, r => r.Action == AuditActions.Login && r.Actor == Identities.Operator && r.Result == AuditResult.Succeeded && r.Role == ControlRole.Operator);
        Expect(AuditActions.SourcePause, Identities.Operator, CallerKind.User, ControlRole.Operator, "order-feed", AuditResult.Succeeded);
        Expect(AuditActions.SourceResume, Identities.Operator, CallerKind.User, ControlRole.Operator, "order-feed", AuditResult.Succeeded);
        Expect(AuditActions.PoolPause, "operator-bot", CallerKind.ApiKey, ControlRole.Operator, "emails", AuditResult.Succeeded);
        Expect(AuditActions.PoolResume, "operator-bot", CallerKind.ApiKey, ControlRole.Operator, "emails", AuditResult.Succeeded);
        Expect(AuditActions.PoolScale, "robot-7", CallerKind.Jwt, ControlRole.Operator, "emails", AuditResult.Succeeded, "workers: 3");
        Expect(AuditActions.DeadLetterView, Identities.Operator, CallerKind.User, ControlRole.Operator, "orders/o-1", AuditResult.Succeeded);
        Expect(AuditActions.DeadLettersRetry, Identities.Operator, CallerKind.User, ControlRole.Operator, "orders", AuditResult.Succeeded, "id o-1: 1");
        Expect(AuditActions.DeadLettersPurge, Identities.Operator, CallerKind.User, ControlRole.Operator, "orders", AuditResult.Succeeded, "all: 1");
        Expect(AuditActions.ConfigReload, Identities.Admin, CallerKind.User, ControlRole.Admin, null, AuditResult.Succeeded);
        Expect(AuditActions.PoolPause, Identities.Viewer, CallerKind.User, ControlRole.Viewer, "orders", AuditResult.Denied, "403");
        Expect(AuditActions.Authenticate, "?", CallerKind.ApiKey, ControlRole.None, "/api/status", AuditResult.Failed, "not valid");
        Expect(AuditActions.SessionRevoke, Identities.Admin, CallerKind.User, ControlRole.Admin, "session " + veraSession, AuditResult.Succeeded, "user " + Identities.Viewer);
        Assert.Single(records, r => r.Action == AuditActions.Logout && r.Actor == Identities.Operator && r.Result == AuditResult.Succeeded);
        Expect(AuditActions.RuntimeStop, Identities.Admin, CallerKind.User, ControlRole.Admin, null, AuditResult.Succeeded);
        Assert.Equal(records.Select(r => r.Sequence).Order(), records.Select(r => r.Sequence));
    }

    [Fact]
    public async Task The_audit_trail_is_served_to_admins_newest_first_and_nobody_else()
    {
        await using var host = await TestHost.StartAsync();
        await host.PostAsync("/api/sources/order-feed/pause", token: Identities.OperatorKey.Key);

        using var asViewer = await host.GetAsync("/api/audit", Identities.ViewerKey.Key);
        await TestHost.AssertProblemAsync(asViewer, 403);
        using var asOperator = await host.GetAsync("/api/audit", Identities.OperatorKey.Key);
        await TestHost.AssertProblemAsync(asOperator, 403);
        var records = (await host.GetJsonAsync("/api/audit?max=5", Identities.AdminKey.Key)).EnumerateArray().ToList();

        var newest = records[0];
        Assert.Equal("source.pause", newest.GetProperty("action").GetString());
        Assert.Equal("operator-bot", newest.GetProperty("actor").GetString());
        Assert.Equal("ApiKey", newest.GetProperty("actorKind").GetString());
        Assert.Equal("Operator", newest.GetProperty("role").GetString());
        Assert.Equal("order-feed", newest.GetProperty("target").GetString());
        Assert.Equal("Succeeded", newest.GetProperty("result").GetString());
        Assert.Equal("127.0.0.1", newest.GetProperty("clientAddress").GetString());
        Assert.Equal(JsonValueKind.String, newest.GetProperty("time").ValueKind);
        // Reads are not audited (the dashboard polls); refused actions, sign-ins and whole-payload reads are.
        Assert.DoesNotContain(records, r => r.GetProperty("action").GetString() == "audit");
    }
}
