using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.ControlPlane.Tests;

public sealed class SecurityTests
{
    public static TheoryData<string> AdminPaths => new()
    {
        "/api/sources/order-feed/pause",
        "/api/sources/order-feed/resume",
        "/api/pools/orders/pause",
        "/api/pools/orders/resume",
        "/api/pools/orders/scale",
        "/api/deadletters/orders/retry",
        "/api/deadletters/orders/purge",
        "/api/config/reload",
        "/api/runtime/stop",
    };

    [Theory]
    [MemberData(nameof(AdminPaths))]
    public async Task Admin_endpoints_without_a_token_answer_401_and_change_nothing(string path)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.PostAsync(path, token: null);

        await TestHost.AssertProblemAsync(response, 401);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var status = await host.GetJsonAsync("/api/status");
        Assert.Equal("Running", status.GetProperty("state").GetString());
        Assert.All(status.GetProperty("sources").EnumerateArray(), s => Assert.False(s.GetProperty("paused").GetBoolean()));
        Assert.All(status.GetProperty("pools").EnumerateArray(), p => Assert.False(p.GetProperty("paused").GetBoolean()));
    }

    [Theory]
    [InlineData("Bearer wrong-token-0123456789abcdef")]
    [InlineData("Bearer test-token-0123456789abcde")]
    [InlineData("Bearer test-token-0123456789abcdefX")]
    [InlineData("Bearer ")]
    [InlineData("Basic dGVzdDp0ZXN0")]
    [InlineData("test-token-0123456789abcdef")]
    public async Task A_wrong_token_is_refused_with_401(string authorization)
    {
        await using var host = await TestHost.StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/sources/order-feed/pause");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await host.Client.SendAsync(request);

        await TestHost.AssertProblemAsync(response, 401);
        var source = (await host.GetJsonAsync("/api/sources")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "order-feed");
        Assert.False(source.GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task The_right_token_is_accepted_whatever_the_case_of_the_scheme()
    {
        await using var host = await TestHost.StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/pools/orders/pause");
        request.Headers.TryAddWithoutValidation("Authorization", "bearer " + TestHost.Token);
        using var response = await host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Without_any_identity_configured_actions_answer_401_and_reads_are_viewer_on_loopback()
    {
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:Token"] = null }, identities: false);

        using var response = await host.PostAsync("/api/pools/orders/pause", token: "anything-at-all-0123456789");

        await TestHost.AssertProblemAsync(response, 401);
        var status = await host.GetJsonAsync("/api/status", token: null);
        Assert.False(status.GetProperty("controlPlane").GetProperty("adminEnabled").GetBoolean());
        Assert.Equal("Viewer", status.GetProperty("controlPlane").GetProperty("role").GetString());
        Assert.Equal("Anonymous", status.GetProperty("controlPlane").GetProperty("kind").GetString());
    }

    [Theory]
    [MemberData(nameof(AdminPaths))]
    public async Task Read_only_mode_refuses_every_admin_action_with_403(string path)
    {
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:ReadOnly"] = "true" });

        using var response = await host.PostAsync(path, path.EndsWith("/scale", StringComparison.Ordinal) ? """{"workers":2}""" : null);

        var detail = await TestHost.AssertProblemAsync(response, 403);
        Assert.Contains("read-only", detail, StringComparison.Ordinal);
        var status = await host.GetJsonAsync("/api/status");
        Assert.Equal("Running", status.GetProperty("state").GetString());
        Assert.True(status.GetProperty("controlPlane").GetProperty("readOnly").GetBoolean());
    }

    [Theory]
    [InlineData("AppRuntime:ControlPlane:RequireTokenForReads", "true")] // deprecated spelling
    [InlineData("AppRuntime:ControlPlane:AnonymousRole", "None")]
    public async Task Reads_can_require_an_identity_on_loopback_too(string key, string value)
    {
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?> { [key] = value });

        using var anonymous = await host.GetAsync("/api/status", token: null);
        await TestHost.AssertProblemAsync(anonymous, 401);
        using var probe = await host.GetAsync("/health/ready", token: null);
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        using var authorized = await host.GetAsync("/api/status", Identities.ViewerKey.Key);
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://*:0")]
    [InlineData("http://127.0.0.1:0;http://[::]:0")]
    public async Task A_non_loopback_address_without_identities_tls_and_allowed_hosts_refuses_to_start_with_every_reason(string urls)
    {
        using var host = TestHost.Build(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:Urls"] = urls, ["AppRuntime:ControlPlane:Token"] = null },
            identities: false);

        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());

        Assert.Contains(error.Errors, e => e.KeyPath == "AppRuntime:ControlPlane:Users" && e.Message.Contains("without a way to sign in", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.KeyPath == "AppRuntime:ControlPlane:AllowInsecureHttp" && e.Message.Contains("plain http", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.KeyPath == "AppRuntime:ControlPlane:AllowedHosts");
        Assert.False(host.Services.GetRequiredService<IControlPlaneServer>().IsRunning);
        Assert.Equal(RuntimeState.Created, host.Services.GetRequiredService<RuntimeManager>().State);
    }

    [Fact]
    public async Task A_non_loopback_address_behind_a_tls_proxy_starts_and_answers_only_its_allowed_hosts()
    {
        await using var host = await TestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Urls"] = "http://0.0.0.0:0",
            ["AppRuntime:ControlPlane:AllowInsecureHttp"] = "true",
            ["AppRuntime:ControlPlane:AllowedHosts"] = "ops.example.test;*.internal.example.test",
        });

        // Reach it through loopback: 0.0.0.0 listens on every interface.
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.BaseAddress.Port}") };
        async Task<HttpResponseMessage> GetAs(string hostName, string path, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = hostName;
            if (token is not null)
                request.Headers.Authorization = Bearer.Of(token);
            return await client.SendAsync(request);
        }
        using (var allowed = await GetAs("ops.example.test", "/api/status", Identities.ViewerKey.Key))
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        using (var wildcard = await GetAs("a.internal.example.test", "/api/status", Identities.ViewerKey.Key))
            Assert.Equal(HttpStatusCode.OK, wildcard.StatusCode);
        using (var foreign = await GetAs("attacker.example", "/api/status", Identities.ViewerKey.Key))
            Assert.Contains("AllowedHosts", await TestHost.AssertProblemAsync(foreign, 400), StringComparison.Ordinal);
        using (var loopbackName = await GetAs("localhost", "/api/status", Identities.ViewerKey.Key))
            await TestHost.AssertProblemAsync(loopbackName, 400);
        // Not loopback-only: no anonymous reads, even from this machine.
        using (var anonymous = await GetAs("ops.example.test", "/api/status", null))
            await TestHost.AssertProblemAsync(anonymous, 401);
        // Probes answer any host name (an orchestrator asks by pod address).
        using (var probe = await GetAs("10.1.2.3", "/health/live", null))
            Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
    }

    [Theory]
    [InlineData("tok-7")] // not "short": a secret's value is masked wherever an error message contains it
    [InlineData("fifteen-chars15")]
    public async Task A_short_token_refuses_to_start(string token)
    {
        using var host = TestHost.Build(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:Token"] = token });

        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());

        Assert.Contains("too short", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:0")]
    [InlineData("not a url")]
    [InlineData("")]
    public async Task Unsupported_or_invalid_urls_refuse_to_start_with_a_clear_error(string urls)
    {
        using var host = TestHost.Build(configure: o => o.Urls = urls);

        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());

        Assert.Contains("AppRuntime:ControlPlane:Urls", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_boolean_setting_names_its_key()
    {
        using var host = TestHost.Build(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:ReadOnly"] = "yes please" });

        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());

        Assert.Contains("AppRuntime:ControlPlane:ReadOnly", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disabled_control_plane_does_not_listen_and_the_runtime_still_runs()
    {
        using var host = TestHost.Build(settings: new Dictionary<string, string?> { ["AppRuntime:ControlPlane:Enabled"] = "false" });

        await host.StartAsync();
        try
        {
            var server = host.Services.GetRequiredService<IControlPlaneServer>();
            Assert.False(server.IsRunning);
            Assert.Empty(server.Addresses);
            Assert.Equal(RuntimeState.Running, host.Services.GetRequiredService<RuntimeManager>().State);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task The_control_plane_answers_while_the_runtime_stops_and_stops_after_it()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(b => Sample.Compose(b, new SampleBehaviour { Gate = gate.Task }));
        await host.Host.Services.GetRequiredService<ITaskPublisher<Order>>().PublishAsync(new Order(1));
        await AppRuntime.TestSupport.Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/pools")).EnumerateArray()
            .Any(p => p.GetProperty("workers").EnumerateArray().Any(w => w.GetProperty("state").GetString() == "Busy")), "a worker holds the order");

        var stopping = host.Host.StopAsync();
        // The runtime waits for the order in hand; meanwhile the control plane still answers and readiness says 503.
        await AppRuntime.TestSupport.Eventually.TrueAsync(async () =>
        {
            using var response = await host.GetAsync("/health/ready");
            using var detailed = await host.GetAsync("/health");
            return response.StatusCode == HttpStatusCode.ServiceUnavailable && (await detailed.Content.ReadAsStringAsync()).Contains("Stopping", StringComparison.Ordinal);
        }, "readiness answers 503 while the runtime stops");
        gate.SetResult();
        await stopping;

        Assert.False(host.Host.Services.GetRequiredService<IControlPlaneServer>().IsRunning);
        await Assert.ThrowsAsync<HttpRequestException>(() => host.GetAsync("/health/live"));
    }
}
