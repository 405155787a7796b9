using AppRuntime.TestSupport;

namespace AppRuntime.Webhooks.Tests;

/// <summary>Every signature preset over real HTTP on loopback, with the providers' vectors, through to the handler.</summary>
public sealed class PresetTests
{
    [Fact]
    public async Task Standard_Webhooks_vector_is_accepted_with_202_and_the_task_id_and_reaches_the_handler()
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Clock = OffsetTimeProvider.At(Vectors.StandardWebhooks.Timestamp) });
        var request = Sign.Json("/hooks/payments", Vectors.StandardWebhooks.Payload);
        request.Headers.Add("webhook-id", Vectors.StandardWebhooks.MessageId);
        request.Headers.Add("webhook-timestamp", Vectors.StandardWebhooks.Timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", Vectors.StandardWebhooks.Signature);

        using var response = await host.SendAsync(request);

        var body = await TestHost.AssertAsync(response, 202);
        Assert.Equal("accepted", body.GetProperty("status").GetString());
        var taskId = "payments:" + Vectors.StandardWebhooks.MessageId;
        Assert.Equal(taskId, body.GetProperty("taskId").GetString());
        await Eventually.TrueAsync(() => host.Store.Tasks.ContainsKey(taskId), "the handler receives the task");
        Assert.Equal(new PaymentEvent(2432232314), host.Store.Tasks[taskId]);
    }

    [Fact]
    public async Task Standard_Webhooks_vector_is_stale_at_the_real_time()
    {
        await using var host = await TestHost.StartAsync();
        var request = Sign.StandardWebhooks("/hooks/payments", Vectors.StandardWebhooks.Secret, Vectors.StandardWebhooks.MessageId, Vectors.StandardWebhooks.Timestamp,
            Vectors.StandardWebhooks.Payload);

        using var response = await host.SendAsync(request);

        await TestHost.AssertAsync(response, 401);
        Assert.Empty(host.Store.Tasks);
    }

    [Fact]
    public async Task GitHub_vector_passes_the_signature_check_and_then_fails_as_not_json()
    {
        await using var host = await TestHost.StartAsync();
        var request = Sign.Json("/hooks/github", Vectors.GitHub.Payload);
        request.Headers.Add("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        request.Headers.Add("X-GitHub-Event", "push");
        request.Headers.Add("X-Hub-Signature-256", Vectors.GitHub.Signature);

        using var response = await host.SendAsync(request);

        // 400 (the body "Hello, World!" is not JSON), not 401: the documented signature verified.
        var problem = await TestHost.AssertAsync(response, 400);
        Assert.Contains("GitHubPush", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var forged = Sign.Json("/hooks/github", Vectors.GitHub.Payload);
        forged.Headers.Add("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
        forged.Headers.Add("X-Hub-Signature-256", "sha256=" + new string('0', 64));
        using var refused = await host.SendAsync(forged);
        await TestHost.AssertAsync(refused, 401);
    }

    [Fact]
    public async Task GitHub_push_is_mapped_to_a_task_and_a_ping_is_ignored_with_200()
    {
        await using var host = await TestHost.StartAsync();
        const string push = """{"ref":"refs/heads/main","repository":{"full_name":"octo/hello"}}""";

        using var accepted = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-1", push));
        var body = await TestHost.AssertAsync(accepted, 202);
        Assert.Equal("github:delivery-1", body.GetProperty("taskId").GetString());
        await Eventually.TrueAsync(() => host.Store.Tasks.ContainsKey("github:delivery-1"), "the mapped task is handled");
        Assert.Equal(new PushTask("octo/hello", "refs/heads/main"), host.Store.Tasks["github:delivery-1"]);

        using var ping = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-2", """{"zen":"Keep it logically awesome."}""", "ping"));
        var ignored = await TestHost.AssertAsync(ping, 200);
        Assert.Equal("ignored", ignored.GetProperty("status").GetString());
        Assert.Equal("ping", ignored.GetProperty("detail").GetString());
        Assert.False(host.Store.Tasks.ContainsKey("github:delivery-2"));
    }

    [Fact]
    public async Task Stripe_vector_is_accepted_and_the_event_id_comes_from_the_body()
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Clock = OffsetTimeProvider.At(Vectors.Stripe.Timestamp) });
        var request = Sign.Json("/hooks/stripe", Vectors.Stripe.Payload, "application/json; charset=utf-8");
        request.Headers.Add("Stripe-Signature", Vectors.Stripe.Header);

        using var response = await host.SendAsync(request);

        var body = await TestHost.AssertAsync(response, 202);
        Assert.Equal("stripe:evt_test_webhook", body.GetProperty("taskId").GetString());
        await Eventually.TrueAsync(() => host.Store.Tasks.ContainsKey("stripe:evt_test_webhook"), "the handler receives the Stripe event");
        Assert.Equal(new StripeEvent("evt_test_webhook", "event"), host.Store.Tasks["stripe:evt_test_webhook"]);
    }

    [Fact]
    public async Task Stripe_vector_is_stale_at_the_real_time()
    {
        await using var host = await TestHost.StartAsync();
        var request = Sign.Json("/hooks/stripe", Vectors.Stripe.Payload);
        request.Headers.Add("Stripe-Signature", Vectors.Stripe.Header);
        using var response = await host.SendAsync(request);
        await TestHost.AssertAsync(response, 401);
    }

    [Fact]
    public async Task Custom_hmac_vector_is_accepted_with_the_event_id_from_a_json_member()
    {
        await using var host = await TestHost.StartAsync();
        var request = Sign.Json("/hooks/custom", Vectors.Custom.Payload);
        request.Headers.Add("X-Signature", Vectors.Custom.Signature);

        using var response = await host.SendAsync(request);

        var body = await TestHost.AssertAsync(response, 202);
        Assert.Equal("custom:cst_1", body.GetProperty("taskId").GetString());
        await Eventually.TrueAsync(() => host.Store.Tasks.ContainsKey("custom:cst_1"), "the handler receives the custom event");
    }

    [Fact]
    public async Task A_second_configured_secret_is_accepted_so_a_secret_can_be_rotated()
    {
        await using var host = await TestHost.StartAsync();
        using var first = await host.SendAsync(Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, "msg_rot_1", """{"test": 1}"""));
        using var second = await host.SendAsync(Sign.StandardWebhooksNow("/hooks/payments", TestHost.PaymentsSecret2, "msg_rot_2", """{"test": 2}"""));
        await TestHost.AssertAsync(first, 202);
        await TestHost.AssertAsync(second, 202);
    }

    [Fact]
    public async Task A_source_without_signature_takes_the_body_hash_as_event_id()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.SendAsync(Sign.Json("/hooks/open", """{"id":"x","kind":"k"}"""));
        var body = await TestHost.AssertAsync(response, 202);
        var expected = "open:sha256-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("""{"id":"x","kind":"k"}"""u8));
        Assert.Equal(expected, body.GetProperty("taskId").GetString());
        using var again = await host.SendAsync(Sign.Json("/hooks/open", """{"id":"x","kind":"k"}"""));
        Assert.Equal("duplicate", (await TestHost.AssertAsync(again, 200)).GetProperty("status").GetString());
    }
}
