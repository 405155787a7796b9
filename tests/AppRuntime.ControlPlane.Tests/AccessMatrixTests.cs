using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// The role × endpoint matrix of docs/control-plane.md, asked of a running control plane over HTTP by every kind of caller: anonymous,
/// a viewer API key, an operator signed in with a session cookie, an admin JWT, the deprecated admin token, a wrong API key, an expired
/// API key and an expired JWT. Every endpoint answers each caller with the status the matrix gives.
/// </summary>
public sealed class AccessMatrixTests
{
    private sealed record Endpoint(string Method, string Path, ControlRole? Role, int Ok, string? Body = null);

    private sealed record Caller(string Name, ControlRole Role, bool Invalid, Func<HttpRequestMessage, Task<HttpResponseMessage>> Send);

    /// <summary>Every endpoint but the runtime stop, in an order that leaves the runtime as it was (pause before resume).</summary>
    private static Endpoint[] Endpoints(string deadId) =>
    [
        new("GET", "/", null, 200),
        new("GET", "/login", null, 200),
        new("GET", "/auth/session", null, 200),
        new("GET", "/health/live", null, 200),
        new("GET", "/health/ready", null, 200),
        new("GET", "/health", ControlRole.Viewer, 200),
        new("GET", "/api/status", ControlRole.Viewer, 200),
        new("GET", "/api/queues", ControlRole.Viewer, 200),
        new("GET", "/api/pools", ControlRole.Viewer, 200),
        new("GET", "/api/sources", ControlRole.Viewer, 200),
        new("GET", "/api/topology", ControlRole.Viewer, 200),
        new("GET", "/api/deadletters/orders", ControlRole.Operator, 200),
        new("GET", "/api/deadletters/orders/" + deadId, ControlRole.Operator, 200),
        new("GET", "/api/traces/recent", ControlRole.Operator, 200),
        new("POST", "/api/sources/order-feed/pause", ControlRole.Operator, 200),
        new("POST", "/api/sources/order-feed/resume", ControlRole.Operator, 200),
        new("POST", "/api/pools/emails/pause", ControlRole.Operator, 200),
        new("POST", "/api/pools/emails/resume", ControlRole.Operator, 200),
        new("POST", "/api/pools/emails/scale", ControlRole.Operator, 200, """{"workers":2}"""),
        new("POST", "/api/deadletters/orders/retry", ControlRole.Operator, 200, """{"ids":["no-such-task"]}"""),
        new("POST", "/api/deadletters/orders/purge", ControlRole.Operator, 200, """{"ids":["no-such-task"]}"""),
        new("POST", "/api/config/reload", ControlRole.Admin, 200),
        new("GET", "/api/audit", ControlRole.Admin, 200),
        new("GET", "/api/sessions", ControlRole.Admin, 200),
        new("POST", "/api/sessions/no-such-session/revoke", ControlRole.Admin, 404),
    ];

    private static readonly Endpoint Stop = new("POST", "/api/runtime/stop", ControlRole.Admin, 202);

    [Fact]
    public async Task Every_endpoint_answers_every_kind_of_caller_as_the_role_matrix_says()
    {
        await using var host = await StartWithDeadLetterAsync(new Dictionary<string, string?>());
        using var operatorSession = await host.SignInAsync(Identities.Operator);
        var callers = Callers(host, operatorSession, anonymousRole: ControlRole.Viewer);

        var failures = new List<string>();
        foreach (var endpoint in Endpoints(DeadId))
        {
            foreach (var caller in callers)
                await CheckAsync(endpoint, caller, anonymousViewer: true, failures);
        }
        foreach (var caller in callers.Where(c => c.Role < ControlRole.Admin))
            await CheckAsync(Stop, caller, anonymousViewer: true, failures);
        Assert.True(failures.Count == 0, "the matrix differs:\n" + string.Join("\n", failures));
        Assert.Equal(RuntimeState.Running, host.Control.State);

        await CheckAsync(Stop, callers.Single(c => c.Name == "admin (JWT)"), anonymousViewer: true, failures);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Without_anonymous_access_an_anonymous_caller_gets_401_from_every_protected_endpoint()
    {
        await using var host = await StartWithDeadLetterAsync(new Dictionary<string, string?> { ["AppRuntime:ControlPlane:AnonymousRole"] = "None" });
        var anonymous = new Caller("anonymous", ControlRole.None, false, request => host.Client.SendAsync(request));

        var failures = new List<string>();
        foreach (var endpoint in Endpoints(DeadId).Append(Stop))
            await CheckAsync(endpoint, anonymous, anonymousViewer: false, failures);

        Assert.True(failures.Count == 0, "the matrix differs:\n" + string.Join("\n", failures));
        Assert.Equal(RuntimeState.Running, host.Control.State);
    }

    private const string DeadId = "order-dead";

    private static async Task<TestHost> StartWithDeadLetterAsync(Dictionary<string, string?> settings)
    {
        // The matrix presents refused credentials on purpose, many times from this one address: no client lockout here (RateLimitTests).
        settings["AppRuntime:ControlPlane:Login:MaxFailuresPerClient"] = "10000";
        var host = await TestHost.StartAsync(b => Sample.Compose(b, new SampleBehaviour { FailEvery = 1 }), settings);
        await host.Host.Services.GetRequiredService<ITaskPublisher<Order>>().PublishAsync(new Order(1), new TaskPublishOptions { Id = DeadId });
        await AppRuntime.TestSupport.Eventually.TrueAsync(async () => (await host.Control.GetDeadLettersAsync("orders")).Value!.Count == 1, "the order is dead-lettered");
        return host;
    }

    private static List<Caller> Callers(TestHost host, SessionClient operatorSession, ControlRole anonymousRole)
    {
        Func<HttpRequestMessage, Task<HttpResponseMessage>> WithBearer(string token) => request =>
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return host.Client.SendAsync(request);
        };
        return
        [
            new("anonymous", anonymousRole, false, request => host.Client.SendAsync(request)),
            new("viewer (API key)", ControlRole.Viewer, false, request =>
            {
                request.Headers.Add("X-Api-Key", Identities.ViewerKey.Key);
                return host.Client.SendAsync(request);
            }),
            new("operator (session)", ControlRole.Operator, false, request =>
            {
                if (request.Method == HttpMethod.Post)
                    request.Headers.Add("X-CSRF-Token", operatorSession.Csrf);
                return operatorSession.Client.SendAsync(request);
            }),
            new("admin (JWT)", ControlRole.Admin, false, WithBearer(Identities.Jwt(Identities.Admin, ["admin"]))),
            new("admin (deprecated token)", ControlRole.Admin, false, WithBearer(TestHost.Token)),
            new("wrong API key", ControlRole.None, true, WithBearer(ControlPlaneSecrets.CreateApiKey().Key)),
            new("expired API key", ControlRole.None, true, WithBearer(Identities.ExpiredKey.Key)),
            new("expired JWT", ControlRole.None, true, WithBearer(Identities.Jwt(Identities.Admin, ["admin"], expiresIn: TimeSpan.FromMinutes(-10)))),
        ];
    }

    private static int Expected(Endpoint endpoint, Caller caller, bool anonymousViewer)
    {
        var anonymous = caller.Name == "anonymous";
        var someone = !caller.Invalid && (!anonymous || anonymousViewer);
        if (endpoint.Role is null)
            return endpoint.Path == "/" && !someone ? 302 : endpoint.Ok;
        if (caller.Invalid || (anonymous && !(anonymousViewer && endpoint.Role == ControlRole.Viewer)))
            return 401;
        return caller.Role >= endpoint.Role ? endpoint.Ok : 403;
    }

    private static async Task CheckAsync(Endpoint endpoint, Caller caller, bool anonymousViewer, List<string> failures)
    {
        using var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), endpoint.Path);
        if (endpoint.Body is not null)
            request.Content = new StringContent(endpoint.Body, Encoding.UTF8, "application/json");
        using var response = await caller.Send(request);
        var expected = Expected(endpoint, caller, anonymousViewer);
        if ((int)response.StatusCode != expected)
            failures.Add($"{endpoint.Method} {endpoint.Path} as {caller.Name}: {(int)response.StatusCode}, expected {expected}: {await response.Content.ReadAsStringAsync()}");
        else if (expected == 401 && !response.Headers.WwwAuthenticate.Any())
            failures.Add($"{endpoint.Method} {endpoint.Path} as {caller.Name}: 401 without WWW-Authenticate");
        else if (expected >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            failures.Add($"{endpoint.Method} {endpoint.Path} as {caller.Name}: {expected} without a problem body");
    }
}
