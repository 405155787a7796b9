using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using AppRuntime.TestSupport;

namespace AppRuntime.Webhooks.Tests;

/// <summary>Counts in /api/sources, OpenTelemetry metrics, and one trace from the HTTP request to the handler.</summary>
[Collection(nameof(TelemetryCollection))]
public sealed class VisibilityTests
{
    private static HttpRequestMessage Payment(string id, int value = 1) =>
        Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, id, $$"""{"test": {{value}}}""");

    [Fact]
    public async Task Received_accepted_duplicate_and_rejected_counts_appear_in_api_sources()
    {
        await using var host = await TestHost.StartAsync(new HostOptions { ControlPlane = true });
        (await host.SendAsync(Payment("msg_v1"))).Dispose();
        (await host.SendAsync(Payment("msg_v1"))).Dispose();
        (await host.SendAsync(Sign.Json("/hooks/payments", "{}"))).Dispose(); // no signature
        (await host.SendAsync(Sign.StandardWebhooks("/hooks/payments", Vectors.StandardWebhooks.Secret, "msg_old", 1_600_000_000, "{}"))).Dispose(); // stale
        (await host.SendAsync(Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, "msg_bad", "[]"))).Dispose(); // malformed
        (await host.Client.GetAsync("/hooks/payments")).Dispose(); // 405

        using var control = new HttpClient { BaseAddress = host.ControlPlaneAddress };
        JsonElement payments = default;
        await Eventually.TrueAsync(async () =>
        {
            using var doc = JsonDocument.Parse(await control.GetStringAsync("/api/sources"));
            payments = doc.RootElement.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "payments").Clone();
            return payments.GetProperty("details").TryGetProperty("received", out var received) && received.GetString() == "6";
        }, "the source's details show the six requests (reported once a second)", TimeSpan.FromSeconds(10));

        var details = payments.GetProperty("details");
        Assert.Equal("listening", payments.GetProperty("state").GetString());
        Assert.Equal("/hooks/payments", details.GetProperty("path").GetString());
        Assert.Equal("StandardWebhooks", details.GetProperty("signature").GetString());
        Assert.Equal("1", details.GetProperty("accepted").GetString());
        Assert.Equal("1", details.GetProperty("duplicate").GetString());
        Assert.Equal("1", details.GetProperty("rejected.signature").GetString());
        Assert.Equal("1", details.GetProperty("rejected.stale").GetString());
        Assert.Equal("1", details.GetProperty("rejected.malformed").GetString());
        Assert.Equal("1", details.GetProperty("rejected.method").GetString());
        Assert.Equal("0", details.GetProperty("unavailable").GetString());
        Assert.Equal(1, payments.GetProperty("published").GetInt64());
    }

    [Fact]
    public async Task Every_request_is_an_OpenTelemetry_measurement_by_source_outcome_and_status()
    {
        var measurements = new ConcurrentQueue<(string Source, string Outcome, int Status)>();
        var durations = new ConcurrentQueue<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "AppRuntime" && instrument.Name.StartsWith("appruntime.webhook.", StringComparison.Ordinal))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string source = "", outcome = "";
            var status = 0;
            foreach (var tag in tags)
            {
                if (tag.Key == "appruntime.source") source = (string)tag.Value!;
                if (tag.Key == "appruntime.webhook.outcome") outcome = (string)tag.Value!;
                if (tag.Key == "http.response.status_code") status = (int)tag.Value!;
            }
            if (source is "metrics-github" or "")
                measurements.Enqueue((source, outcome, status));
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => durations.Enqueue(value));
        listener.Start();

        await using var host = await TestHost.StartAsync(new HostOptions
        {
            Compose = b => b.AddWebhookSource(new WebhookSourceDefinition("metrics-github", "pushes", "/hooks/metrics") { Signature = WebhookSignature.GitHub },
                new JsonTaskSerializer<GitHubPush>(TestJson.Default.GitHubPush), _ => new GitHubMapping()),
            Settings = { ["AppRuntime:Webhooks:Sources:metrics-github:Secrets:0"] = Vectors.GitHub.Secret },
        });
        (await host.SendAsync(Sign.GitHub("/hooks/metrics", Vectors.GitHub.Secret, "m-1", """{"ref":"r"}"""))).Dispose();
        (await host.SendAsync(Sign.GitHub("/hooks/metrics", Vectors.GitHub.Secret, "m-1", """{"ref":"r"}"""))).Dispose();
        (await host.SendAsync(Sign.GitHub("/hooks/metrics", "wrong secret", "m-2", """{"ref":"r"}"""))).Dispose();
        (await host.SendAsync(Sign.GitHub("/hooks/metrics", Vectors.GitHub.Secret, "m-3", "{}"))).Dispose();
        (await host.Client.PostAsync("/hooks/metrics-typo", null)).Dispose();

        var mine = measurements.Where(m => m.Source == "metrics-github").OrderBy(m => m.Outcome, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [("metrics-github", "accepted", 202), ("metrics-github", "duplicate", 200), ("metrics-github", "rejected.mapping", 422), ("metrics-github", "rejected.signature", 401)],
            mine);
        Assert.Contains(measurements, m => m is ("", "not_found", 404));
        Assert.NotEmpty(durations);
    }

    [Fact]
    public async Task The_trace_starts_at_the_http_request_and_the_handlers_consumer_span_is_in_it()
    {
        using var spans = new SpanCollector();
        await using var host = await TestHost.StartAsync();
        var request = Payment("msg_traced");
        // A caller's traceparent is not believed by default: it becomes a link, and the request starts its own trace.
        const string callerTrace = "0af7651916cd43dd8448eb211c80319c";
        request.Headers.Add("traceparent", $"00-{callerTrace}-b7ad6b7169203331-01");

        using var response = await host.SendAsync(request);
        Assert.Equal(202, (int)response.StatusCode);
        // The server span ends after the answer's body is written, which the client may see first.
        await Eventually.TrueAsync(() => spans.Find("process payments", "payments:msg_traced") is not null && spans.Find("POST /hooks/payments", "payments:msg_traced") is not null,
            "the handler's consumer span and the request's server span ended");

        var server = spans.Find("POST /hooks/payments", "payments:msg_traced")!;
        var publish = spans.Find("publish payments", "payments:msg_traced")!;
        var process = spans.Find("process payments", "payments:msg_traced")!;
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.Equal(default, server.ParentSpanId);
        Assert.NotEqual(callerTrace, server.TraceId.ToHexString());
        Assert.Equal(callerTrace, Assert.Single(server.Links).Context.TraceId.ToHexString());
        Assert.Equal(202, server.GetTagItem("http.response.status_code"));
        Assert.Equal("accepted", server.GetTagItem("appruntime.webhook.outcome"));
        Assert.Equal(server.TraceId, publish.TraceId);
        Assert.Equal(server.SpanId, publish.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(server.TraceId, process.TraceId);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
    }

    [Fact]
    public async Task With_TrustTraceContext_the_callers_traceparent_is_the_parent()
    {
        using var spans = new SpanCollector();
        await using var host = await TestHost.StartAsync(new HostOptions { Settings = { ["AppRuntime:Webhooks:TrustTraceContext"] = "true" } });
        var request = Payment("msg_trusted");
        request.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        using var response = await host.SendAsync(request);
        Assert.Equal(202, (int)response.StatusCode);
        // The server span ends after the answer's body is written, which the client may see first.
        await Eventually.TrueAsync(() => spans.Find("process payments", "payments:msg_trusted") is not null && spans.Find("POST /hooks/payments", "payments:msg_trusted") is not null,
            "the handler's consumer span and the request's server span ended");

        var server = spans.Find("POST /hooks/payments", "payments:msg_trusted")!;
        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", server.TraceId.ToHexString());
        Assert.Equal("00f067aa0ba902b7", server.ParentSpanId.ToHexString());
        Assert.Equal(server.TraceId, spans.Find("process payments", "payments:msg_trusted")!.TraceId);
    }

    /// <summary>Records every span of the <c>AppRuntime</c> source that ends while it lives.</summary>
    private sealed class SpanCollector : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _spans = new();

        public SpanCollector()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == "AppRuntime",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => _spans.Enqueue(a),
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public Activity? Find(string name, string taskId) =>
            _spans.FirstOrDefault(a => a.DisplayName == name && (a.GetTagItem("messaging.message.id") as string) == taskId);

        public void Dispose() => _listener.Dispose();
    }
}

/// <summary>Tests that listen to process-wide telemetry run one at a time.</summary>
[CollectionDefinition(nameof(TelemetryCollection), DisableParallelization = true)]
public sealed class TelemetryCollection;
