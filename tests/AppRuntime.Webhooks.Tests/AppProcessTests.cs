using System.Globalization;
using AppRuntime.TestSupport;
using StackExchange.Redis;

namespace AppRuntime.Webhooks.Tests;

/// <summary>
/// The signature and replay tests against the generator-composed test app running as its own process: the JIT build here, the
/// native AOT binary when tests/aot/e2e.sh runs them with APPRUNTIME_WEBHOOKS_APP. The handlers' store is a Redis hash read here.
/// </summary>
public sealed class AppProcessTests : IAsyncLifetime
{
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Endpoint);

    public async Task DisposeAsync()
    {
        await _redis.GetDatabase().KeyDeleteAsync([_prefix + ":handled", _prefix + ":deliveries", _prefix + ":first-attempts"]);
        await _redis.DisposeAsync();
    }

    private Task<AppProcess> StartAsync(long? clock = null, string backend = "InMemory") =>
        AppProcess.StartAsync(AppProcess.FreePort(), _prefix, new Dictionary<string, string> { ["AppRuntime:DefaultBackend"] = backend }, clock);

    private async Task<string?> HandledAsync(string taskId) => await _redis.GetDatabase().HashGetAsync(_prefix + ":handled", taskId);

    [Theory]
    [InlineData("InMemory")]
    [InlineData("Redis")]
    public async Task Standard_Webhooks_vector_is_accepted_once_and_its_replay_is_a_duplicate(string backend)
    {
        using var app = await StartAsync(Vectors.StandardWebhooks.Timestamp + 10, backend);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        HttpRequestMessage Vector()
        {
            var request = Sign.Json("/hooks/payments", Vectors.StandardWebhooks.Payload);
            request.Headers.Add("webhook-id", Vectors.StandardWebhooks.MessageId);
            request.Headers.Add("webhook-timestamp", Vectors.StandardWebhooks.Timestamp.ToString(CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", Vectors.StandardWebhooks.Signature);
            return request;
        }

        using var first = await client.SendAsync(Vector());
        using var replay = await client.SendAsync(Vector());

        var accepted = await TestHost.AssertAsync(first, 202);
        var duplicate = await TestHost.AssertAsync(replay, 200);
        var taskId = "payments:" + Vectors.StandardWebhooks.MessageId;
        Assert.Equal(taskId, accepted.GetProperty("taskId").GetString());
        Assert.Equal(taskId, duplicate.GetProperty("taskId").GetString());
        Assert.Equal("duplicate", duplicate.GetProperty("status").GetString());
        await Eventually.TrueAsync(async () => await HandledAsync(taskId) is not null, "the handler stores the event");
        Assert.Equal("2432232314", await HandledAsync(taskId));
        Assert.Equal(1, (long)await _redis.GetDatabase().HashGetAsync(_prefix + ":first-attempts", taskId));
    }

    [Fact]
    public async Task GitHub_vector_verifies_and_a_signed_push_becomes_a_mapped_task()
    {
        using var app = await StartAsync();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        var vector = Sign.Json("/hooks/github", Vectors.GitHub.Payload);
        vector.Headers.Add("X-GitHub-Delivery", "d-vector");
        vector.Headers.Add("X-Hub-Signature-256", Vectors.GitHub.Signature);
        using var vectorResponse = await client.SendAsync(vector);
        await TestHost.AssertAsync(vectorResponse, 400); // signature right, body "Hello, World!" not JSON

        using var push = await client.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "d-1", """{"ref":"refs/heads/main","repository":{"full_name":"octo/hello"}}"""));
        await TestHost.AssertAsync(push, 202);
        using var noRef = await client.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "d-2", "{}"));
        await TestHost.AssertAsync(noRef, 422);
        using var ping = await client.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "d-3", "{}", "ping"));
        await TestHost.AssertAsync(ping, 200);
        using var forged = await client.SendAsync(Sign.GitHub("/hooks/github", "not the secret", "d-4", """{"ref":"x"}"""));
        await TestHost.AssertAsync(forged, 401);
        await Eventually.TrueAsync(async () => await HandledAsync("github:d-1") is not null, "the mapped push is stored");
        Assert.Equal("octo/hello refs/heads/main", await HandledAsync("github:d-1"));
    }

    [Fact]
    public async Task Stripe_vector_is_accepted_with_its_event_id_from_the_body()
    {
        using var app = await StartAsync(Vectors.Stripe.Timestamp + 10);
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        var request = Sign.Json("/hooks/stripe", Vectors.Stripe.Payload);
        request.Headers.Add("Stripe-Signature", Vectors.Stripe.Header);

        using var response = await client.SendAsync(request);

        Assert.Equal("stripe:evt_test_webhook", (await TestHost.AssertAsync(response, 202)).GetProperty("taskId").GetString());
        await Eventually.TrueAsync(async () => await HandledAsync("stripe:evt_test_webhook") is not null, "the Stripe event is stored");
    }

    [Fact]
    public async Task Custom_hmac_vector_is_accepted_and_stale_or_unsigned_requests_are_refused()
    {
        using var app = await StartAsync();
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        var custom = Sign.Json("/hooks/custom", Vectors.Custom.Payload);
        custom.Headers.Add("X-Signature", Vectors.Custom.Signature);
        using var accepted = await client.SendAsync(custom);
        await TestHost.AssertAsync(accepted, 202);

        // The Standard Webhooks vector at the real time is a replay from 2021: 401.
        var stale = Sign.StandardWebhooks("/hooks/payments", Vectors.StandardWebhooks.Secret, Vectors.StandardWebhooks.MessageId, Vectors.StandardWebhooks.Timestamp,
            Vectors.StandardWebhooks.Payload);
        using var staleResponse = await client.SendAsync(stale);
        await TestHost.AssertAsync(staleResponse, 401);
        using var unsigned = await client.SendAsync(Sign.Json("/hooks/payments", Vectors.StandardWebhooks.Payload));
        await TestHost.AssertAsync(unsigned, 401);
        await Eventually.TrueAsync(async () => await HandledAsync("custom:cst_1") is not null, "the custom event is stored");
    }

    [Fact]
    public async Task Concurrent_redeliveries_of_one_event_make_one_task_on_Redis()
    {
        using var app = await StartAsync(backend: "Redis");
        using var client = new HttpClient { BaseAddress = app.BaseAddress };
        var body = """{"test": 99}""";
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            client.SendAsync(Sign.StandardWebhooks("/hooks/payments", Vectors.StandardWebhooks.Secret, "msg_burst", now, body))));

        Assert.Equal(1, responses.Count(r => (int)r.StatusCode == 202));
        Assert.Equal(15, responses.Count(r => (int)r.StatusCode == 200));
        foreach (var response in responses)
            response.Dispose();
        await Eventually.TrueAsync(async () => await HandledAsync("payments:msg_burst") is not null, "the event is stored");
        Assert.Equal(1, (long)await _redis.GetDatabase().HashGetAsync(_prefix + ":first-attempts", "payments:msg_burst"));
    }
}
