using System.Net;
using System.Net.Sockets;
using System.Text;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Webhooks.Tests;

/// <summary>Every bad-input row of the issue: each gets its answer (never a 5xx), and nothing is published.</summary>
public sealed class BadInputTests
{
    private const string Payment = """{"test": 7}""";

    private static HttpRequestMessage SignedPayment(string id = "msg_bad_input", string body = Payment, string contentType = "application/json") =>
        Sign.StandardWebhooks("/hooks/payments", Vectors.StandardWebhooks.Secret, id, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), body, contentType);

    [Fact]
    public async Task Missing_wrong_and_stale_signatures_get_the_same_401_that_says_nothing_about_why()
    {
        await using var host = await TestHost.StartAsync();
        var missing = Sign.Json("/hooks/payments", Payment);
        var wrong = SignedPayment();
        wrong.Headers.Remove("webhook-signature");
        wrong.Headers.Add("webhook-signature", Sign.StandardWebhooksSignature(TestHost.PaymentsSecret2, "msg_other", 1, Payment));
        var stale = Sign.StandardWebhooks("/hooks/payments", Vectors.StandardWebhooks.Secret, "msg_stale", DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 3600, Payment);
        var tampered = SignedPayment();
        tampered.Content = new StringContent("""{"test": 8}""", Encoding.UTF8, "application/json");

        var details = new List<string>();
        foreach (var request in new[] { missing, wrong, stale, tampered })
        {
            using var response = await host.SendAsync(request);
            var problem = await TestHost.AssertAsync(response, 401);
            details.Add(problem.GetProperty("detail").GetString()!);
        }

        Assert.Single(details.Distinct());
        foreach (var word in new[] { "signature", "timestamp", "stale", "secret", "header", "expired" })
            Assert.DoesNotContain(word, details[0], StringComparison.OrdinalIgnoreCase);
        Assert.Empty(host.Store.Tasks);
    }

    [Fact]
    public async Task A_declared_length_over_the_limit_gets_413_before_the_body_is_sent()
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Settings = { ["AppRuntime:Webhooks:MaxBodySize"] = "1024" } });
        var content = new WatchedContent(new byte[4096]);
        var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/payments") { Content = content };
        request.Headers.ExpectContinue = true;
        request.Content.Headers.ContentType = new("application/json");

        using var response = await host.SendAsync(request);

        var problem = await TestHost.AssertAsync(response, 413);
        Assert.Contains("1024", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(content.Sent, "the client was told 413 before it sent the body");
    }

    [Fact]
    public async Task A_declared_length_of_ten_mebibytes_is_answered_413_after_a_few_bytes_and_the_connection_closed()
    {
        await using var host = await TestHost.StartAsync();
        var address = host.Server.Addresses.Single();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, address.Port);
        var head = $"POST /hooks/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {10 * 1024 * 1024}\r\n\r\n{{\"test\":";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head));

        var answer = await ReadUntilClosedAsync(socket);

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("Connection: close", answer, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_chunked_body_that_grows_over_the_limit_gets_413_without_being_read_to_the_end()
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Settings = { ["AppRuntime:Webhooks:MaxBodySize"] = "1024" } });
        var address = host.Server.Addresses.Single();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, address.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes("POST /hooks/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
        var chunk = Encoding.ASCII.GetBytes("800\r\n" + new string(' ', 0x800) + "\r\n");
        await socket.SendAsync(chunk); // 2 KiB, over the 1 KiB limit; the final chunk never comes

        var answer = await ReadUntilClosedAsync(socket);

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_is_not_json_gets_400_and_a_wrong_member_gets_400_with_its_path()
    {
        await using var host = await TestHost.StartAsync();
        using var notJson = await host.SendAsync(SignedPayment("msg_nj", "this is not json"));
        await TestHost.AssertAsync(notJson, 400);

        using var wrongMember = await host.SendAsync(SignedPayment("msg_wm", """{"test": "seven"}"""));
        var problem = await TestHost.AssertAsync(wrongMember, 400);
        Assert.Contains("$.test", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(host.Store.Tasks);
    }

    [Fact]
    public async Task A_content_type_that_is_not_json_gets_415()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.SendAsync(SignedPayment(contentType: "text/plain"));
        await TestHost.AssertAsync(response, 415);
        using var form = await host.SendAsync(SignedPayment(contentType: "application/x-www-form-urlencoded"));
        await TestHost.AssertAsync(form, 415);
        Assert.Empty(host.Store.Tasks);
    }

    [Fact]
    public async Task A_missing_event_id_gets_400()
    {
        await using var host = await TestHost.StartAsync();
        var request = Sign.Json("/hooks/custom", """{"kind":"no id"}""");
        request.Headers.Add("X-Signature", "sha256=" + Convert.ToBase64String(System.Security.Cryptography.HMACSHA256.HashData(
            Encoding.UTF8.GetBytes(Vectors.Custom.Secret), Encoding.UTF8.GetBytes("""{"kind":"no id"}"""))));
        using var response = await host.SendAsync(request);
        var problem = await TestHost.AssertAsync(response, 400);
        Assert.Contains("'id'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_the_mapping_method_rejects_gets_422_with_its_reason()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-no-ref", """{"repository":{"full_name":"octo/hello"}}"""));
        var problem = await TestHost.AssertAsync(response, 422);
        Assert.Equal("A push needs a ref.", problem.GetProperty("detail").GetString());
        Assert.Empty(host.Store.Tasks);
    }

    [Fact]
    public async Task A_mapping_method_that_throws_gets_500_and_the_listener_keeps_working()
    {
        await using var host = await TestHost.StartAsync();
        using var response = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-x", """{"ref":"refs/heads/explode"}"""));
        var problem = await TestHost.AssertAsync(response, 500);
        Assert.DoesNotContain("failed", problem.GetProperty("detail").GetString(), StringComparison.Ordinal); // the exception's text stays in the log
        using var next = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-y", """{"ref":"refs/heads/main"}"""));
        await TestHost.AssertAsync(next, 202);
    }

    [Fact]
    public async Task A_full_queue_gets_503_with_Retry_After_once_the_publish_timeout_passed()
    {
        var gate = new TaskCompletionSource();
        await using var host = await TestHost.StartAsync(new HostOptions
        {
            Capacity = 1,
            Settings = { ["AppRuntime:Webhooks:PublishTimeout"] = "00:00:00.300", ["AppRuntime:Webhooks:RetryAfter"] = "00:00:07" },
        });
        host.Store.Gate = gate.Task; // the worker keeps the first task in hand: the queue (capacity 1) is full
        using var first = await host.SendAsync(SignedPayment("msg_full_1"));
        await TestHost.AssertAsync(first, 202);

        using var second = await host.SendAsync(SignedPayment("msg_full_2"));

        await TestHost.AssertAsync(second, 503);
        Assert.Equal(TimeSpan.FromSeconds(7), second.Headers.RetryAfter?.Delta);
        gate.SetResult();
        await Eventually.TrueAsync(() => host.Store.Tasks.ContainsKey("payments:msg_full_1"), "the first task is handled");
        // The refused event was not published: the provider's retry is accepted, not a duplicate.
        using var retried = await host.SendAsync(SignedPayment("msg_full_2"));
        Assert.Equal("accepted", (await TestHost.AssertAsync(retried, 202)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_paused_source_gets_503_with_Retry_After_and_accepts_again_when_resumed()
    {
        await using var host = await TestHost.StartAsync();
        var control = host.Get<ControlPlaneService>();
        Assert.Equal(ControlStatus.Ok, control.PauseSource("payments").Status);

        using var paused = await host.SendAsync(SignedPayment("msg_paused"));
        await TestHost.AssertAsync(paused, 503);
        Assert.Equal(TimeSpan.FromSeconds(5), paused.Headers.RetryAfter?.Delta);

        control.ResumeSource("payments");
        using var resumed = await host.SendAsync(SignedPayment("msg_paused"));
        await TestHost.AssertAsync(resumed, 202);
    }

    [Fact]
    public async Task While_the_runtime_has_not_started_the_listener_answers_503_with_Retry_After()
    {
        var (host, _) = TestHost.Build();
        using var _ = host;
        var listener = (IHostedService)host.Services.GetRequiredService<IWebhookServer>();
        await listener.StartAsync(CancellationToken.None); // the listener starts before the runtime does
        try
        {
            using var client = new HttpClient { BaseAddress = host.Services.GetRequiredService<IWebhookServer>().Addresses.Single() };
            using var response = await client.SendAsync(SignedPayment("msg_starting"));
            var problem = await TestHost.AssertAsync(response, 503);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.Contains("starting or stopping", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await listener.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task While_the_runtime_drains_the_listener_answers_503_with_Retry_After()
    {
        await using var host = await TestHost.StartAsync();
        await host.Get<RuntimeManager>().StopAsync(CancellationToken.None); // the runtime stops before the listener does

        using var response = await host.SendAsync(SignedPayment("msg_draining"));

        await TestHost.AssertAsync(response, 503);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task An_unreachable_backend_gets_503_with_Retry_After()
    {
        await using var host = await TestHost.StartAsync(new HostOptions
        {
            Backend = "Redis",
            // The runtime's drain reads queue statistics, which fail while Redis is away (a gap of the core's stop, not of webhooks).
            DrainTimeout = TimeSpan.Zero,
            Settings =
            {
                ["AppRuntime:Redis:Configuration"] = "127.0.0.1:1,connectTimeout=200,syncTimeout=500,asyncTimeout=500",
                ["AppRuntime:Webhooks:PublishTimeout"] = "00:00:01",
            },
        });

        using var response = await host.SendAsync(SignedPayment("msg_down"));

        await TestHost.AssertAsync(response, 503);
        Assert.NotNull(response.Headers.RetryAfter);
    }

    [Fact]
    public async Task An_unknown_path_gets_404_and_another_method_gets_405_with_Allow()
    {
        await using var host = await TestHost.StartAsync();
        using var notFound = await host.Client.PostAsync("/hooks/nothing-here", new StringContent("{}", Encoding.UTF8, "application/json"));
        await TestHost.AssertAsync(notFound, 404);

        using var get = await host.Client.GetAsync("/hooks/payments");
        await TestHost.AssertAsync(get, 405);
        Assert.Contains("POST", get.Content.Headers.Allow);
        using var put = await host.Client.PutAsync("/hooks/payments", new StringContent(Payment, Encoding.UTF8, "application/json"));
        await TestHost.AssertAsync(put, 405);
    }

    [Fact]
    public async Task A_client_outside_the_allowed_networks_gets_403()
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Settings = { ["AppRuntime:Webhooks:Sources:payments:AllowedNetworks:0"] = "192.0.2.0/24" } });
        using var response = await host.SendAsync(SignedPayment("msg_forbidden"));
        await TestHost.AssertAsync(response, 403);

        await using var open = await TestHost.StartAsync(new HostOptions { Settings = { ["AppRuntime:Webhooks:Sources:payments:AllowedNetworks:0"] = "127.0.0.0/8" } });
        using var allowed = await open.SendAsync(SignedPayment("msg_allowed"));
        await TestHost.AssertAsync(allowed, 202);
    }

    [Fact]
    public async Task Paths_match_ignoring_case_and_a_trailing_slash()
    {
        await using var host = await TestHost.StartAsync();
        var request = SignedPayment("msg_case");
        request.RequestUri = new Uri("/Hooks/Payments/", UriKind.Relative);
        using var response = await host.SendAsync(request);
        await TestHost.AssertAsync(response, 202);
    }

    private static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            }
            catch (SocketException)
            {
                break; // reset after the answer
            }
            if (n == 0)
                break;
            received.Write(buffer, 0, n);
        }
        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Content that records whether the client started sending it.</summary>
    private sealed class WatchedContent(byte[] bytes) : HttpContent
    {
        public bool Sent { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            Sent = true;
            return stream.WriteAsync(bytes).AsTask();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
