using System.Net;
using System.Text.Json;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.ControlPlane.Tests;

public sealed class EndpointTests
{
    [Fact]
    public async Task Liveness_and_readiness_answer_200_when_healthy_or_degraded_and_503_when_unhealthy()
    {
        var ready = new SwitchHealth("db", HealthScope.Readiness);
        await using var host = await TestHost.StartAsync(b => { Sample.Compose(b); b.AddHealthContributor(_ => ready); });

        using (var live = await host.GetAsync("/health/live"))
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using (var ok = await host.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("Healthy", (await TestHost.JsonAsync(ok)).GetProperty("status").GetString());
        }

        ready.Result = HealthResult.Degraded("slow");
        using (var degraded = await host.GetAsync("/health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
            Assert.Equal("Degraded", (await TestHost.JsonAsync(degraded)).GetProperty("status").GetString());
        }

        ready.Result = HealthResult.Unhealthy("database unreachable");
        using (var down = await host.GetAsync("/health/ready", token: null))
        {
            // Anyone may probe; the answer says nothing internal: the status alone.
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            var body = await TestHost.JsonAsync(down);
            Assert.Equal("Unhealthy", body.GetProperty("status").GetString());
            Assert.Equal(["status"], body.EnumerateObject().Select(p => p.Name));
        }
        using var detailedResponse = await host.GetAsync("/health");
        var detailed = await TestHost.JsonAsync(detailedResponse);
        Assert.Contains(detailed.GetProperty("entries").EnumerateArray(), e => e.GetProperty("name").GetString() == "db"
            && e.GetProperty("result").GetProperty("description").GetString() == "database unreachable");
        using (var stillLive = await host.GetAsync("/health/live"))
            Assert.Equal(HttpStatusCode.OK, stillLive.StatusCode);
    }

    [Fact]
    public async Task Detailed_health_lists_every_contributor()
    {
        await using var host = await TestHost.StartAsync();

        var health = await host.GetJsonAsync("/health");

        var names = health.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.Contains("runtime:liveness", names);
        Assert.Contains("runtime:readiness", names);
        Assert.Contains("queues", names);
    }

    [Fact]
    public async Task Status_queues_pools_and_sources_describe_the_running_runtime()
    {
        await using var host = await TestHost.StartAsync();

        var status = await host.GetJsonAsync("/api/status");
        Assert.Equal("Running", status.GetProperty("state").GetString());
        Assert.Equal(["emails", "orders"], status.GetProperty("queues").EnumerateArray().Select(q => q.GetProperty("name").GetString()).Order());
        Assert.False(status.GetProperty("controlPlane").GetProperty("readOnly").GetBoolean());
        Assert.True(status.GetProperty("controlPlane").GetProperty("adminEnabled").GetBoolean());

        var queues = await host.GetJsonAsync("/api/queues");
        var orders = queues.EnumerateArray().Single(q => q.GetProperty("name").GetString() == "orders");
        Assert.Equal(500, orders.GetProperty("stats").GetProperty("capacity").GetInt32());
        Assert.Equal("InMemory", orders.GetProperty("backend").GetString());

        var pools = await host.GetJsonAsync("/api/pools");
        var ordersPool = pools.EnumerateArray().Single(p => p.GetProperty("queue").GetString() == "orders");
        Assert.Equal(3, ordersPool.GetProperty("desiredWorkers").GetInt32());
        Assert.Equal(3, ordersPool.GetProperty("workers").GetArrayLength());
        Assert.Equal("Idle", ordersPool.GetProperty("workers")[0].GetProperty("state").GetString());

        var sources = await host.GetJsonAsync("/api/sources");
        Assert.Equal(["mail-poller", "order-feed"], sources.EnumerateArray().Select(s => s.GetProperty("name").GetString()).Order());
    }

    [Fact]
    public async Task Sources_show_a_schedule_with_the_next_three_occurrences_in_utc_and_in_its_zone()
    {
        await using var host = await TestHost.StartAsync(b =>
        {
            Sample.Compose(b);
            b.AddScheduledSource(NightlyOrders.Definition, _ => new NightlyOrders());
        });

        JsonElement schedule = default;
        await Eventually.TrueAsync(async () =>
        {
            var source = (await host.GetJsonAsync("/api/sources")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "nightly-orders");
            schedule = source.GetProperty("schedule");
            return schedule.ValueKind == JsonValueKind.Object;
        }, "the scheduled source reports its schedule");
        Assert.Equal("0 7 * * MON-FRI", schedule.GetProperty("cron").GetString());
        Assert.Equal("Europe/Berlin", schedule.GetProperty("timeZone").GetString());
        Assert.Equal("Skip", schedule.GetProperty("missedPolicy").GetString());
        Assert.Equal(JsonValueKind.Null, schedule.GetProperty("lastFired").ValueKind);
        Assert.Equal(0, schedule.GetProperty("skipped").GetInt64());
        var next = schedule.GetProperty("next").EnumerateArray().ToList();
        Assert.Equal(3, next.Count);
        foreach (var at in next)
        {
            var utc = at.GetProperty("utc").GetDateTimeOffset();
            var local = at.GetProperty("local").GetDateTimeOffset();
            Assert.Equal(utc, local);
            Assert.Equal(TimeSpan.Zero, utc.Offset);
            Assert.Equal(7, local.Hour); // 07:00 in Berlin, with Berlin's offset
            Assert.Equal(TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin").GetUtcOffset(utc), local.Offset);
            Assert.NotEqual(DayOfWeek.Saturday, local.DayOfWeek);
        }

        var other = (await host.GetJsonAsync("/api/sources")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "order-feed");
        Assert.Equal(JsonValueKind.Null, other.GetProperty("schedule").ValueKind);
    }

    [Fact]
    public async Task Topology_is_served_as_json_and_as_mermaid()
    {
        await using var host = await TestHost.StartAsync();

        var topology = await host.GetJsonAsync("/api/topology");
        var module = Assert.Single(topology.GetProperty("modules").EnumerateArray());
        Assert.Equal("shop", module.GetProperty("module").GetString());
        Assert.Equal(2, module.GetProperty("sources").GetArrayLength());
        Assert.StartsWith("flowchart LR", topology.GetProperty("mermaid").GetString(), StringComparison.Ordinal);

        using var mermaid = await host.GetAsync("/api/topology?format=mermaid");
        Assert.Equal("text/plain", mermaid.Content.Headers.ContentType?.MediaType);
        var text = await mermaid.Content.ReadAsStringAsync();
        Assert.Contains("s_order_feed --> q_orders", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letters_are_listed_retried_and_purged_over_http()
    {
        await using var host = await TestHost.StartAsync(b => Sample.Compose(b, new SampleBehaviour { FailEvery = 10 }));
        var publisher = host.Host.Services.GetRequiredService<ITaskPublisher<Order>>();
        foreach (var n in new[] { 10, 20, 30 })
            await publisher.PublishAsync(new Order(n), new TaskPublishOptions { Id = "order-" + n });
        await Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/deadletters/orders")).GetArrayLength() == 3, "three orders dead-lettered");

        var letters = await host.GetJsonAsync("/api/deadletters/orders?max=2");
        Assert.Equal(2, letters.GetArrayLength());
        Assert.Contains("has no customer", letters[0].GetProperty("reason").GetString(), StringComparison.Ordinal);

        using (var purgeOne = await host.PostAsync("/api/deadletters/orders/purge", """{"ids":["order-10"]}"""))
        {
            Assert.Equal(HttpStatusCode.OK, purgeOne.StatusCode);
            Assert.Equal(1, (await TestHost.JsonAsync(purgeOne)).GetProperty("count").GetInt32());
        }
        using (var retryAll = await host.PostAsync("/api/deadletters/orders/retry"))
        {
            Assert.Equal(HttpStatusCode.OK, retryAll.StatusCode);
            Assert.Equal(2, (await TestHost.JsonAsync(retryAll)).GetProperty("count").GetInt32());
        }
        // The handler still refuses these orders: the retried tasks run again and come back to the dead-letter store.
        await Eventually.TrueAsync(async () =>
        {
            var now = await host.GetJsonAsync("/api/deadletters/orders");
            return now.GetArrayLength() == 2 && now.EnumerateArray().All(d => d.GetProperty("id").GetString() != "order-10");
        }, "the retried orders dead-letter again");
        using (var purgeAll = await host.PostAsync("/api/deadletters/orders/purge", ""))
            Assert.Equal(2, (await TestHost.JsonAsync(purgeAll)).GetProperty("count").GetInt32());
        Assert.Equal(0, (await host.GetJsonAsync("/api/deadletters/orders")).GetArrayLength());
    }

    [Fact]
    public async Task Recent_traces_show_processed_tasks()
    {
        var behaviour = new SampleBehaviour();
        await using var host = await TestHost.StartAsync(b => Sample.Compose(b, behaviour));
        var publisher = host.Host.Services.GetRequiredService<ITaskPublisher<Order>>();
        await publisher.PublishAsync(new Order(7), new TaskPublishOptions { Id = "order-7" });
        await Eventually.TrueAsync(() => behaviour.Handled.Contains(7), "order 7 handled");

        await Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/traces/recent")).EnumerateArray()
            .Any(t => t.GetProperty("taskId").GetString() == "order-7" && t.GetProperty("outcome").GetString() == "succeeded"), "the trace of order 7 is listed");
        using var bad = await host.GetAsync("/api/traces/recent?max=0");
        await TestHost.AssertProblemAsync(bad, 400);
    }

    [Fact]
    public async Task Pausing_and_resuming_a_source_changes_its_state()
    {
        await using var host = await TestHost.StartAsync(b => Sample.Compose(b, new SampleBehaviour { OrderInterval = TimeSpan.FromMilliseconds(5) }));

        using (var paused = await host.PostAsync("/api/sources/order-feed/pause"))
        {
            Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
            Assert.True((await TestHost.JsonAsync(paused)).GetProperty("paused").GetBoolean());
        }
        var source = (await host.GetJsonAsync("/api/sources")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == "order-feed");
        Assert.True(source.GetProperty("paused").GetBoolean());

        using (var resumed = await host.PostAsync("/api/sources/order-feed/resume"))
            Assert.False((await TestHost.JsonAsync(resumed)).GetProperty("paused").GetBoolean());
        var before = source.GetProperty("published").GetInt64();
        await Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/sources")).EnumerateArray()
            .Single(s => s.GetProperty("name").GetString() == "order-feed").GetProperty("published").GetInt64() > before, "the resumed source publishes again");
    }

    [Fact]
    public async Task Pools_pause_resume_and_scale()
    {
        await using var host = await TestHost.StartAsync();

        using (var paused = await host.PostAsync("/api/pools/orders/pause"))
            Assert.True((await TestHost.JsonAsync(paused)).GetProperty("paused").GetBoolean());
        using (var resumed = await host.PostAsync("/api/pools/orders/resume"))
            Assert.False((await TestHost.JsonAsync(resumed)).GetProperty("paused").GetBoolean());
        using (var scaled = await host.PostAsync("/api/pools/orders/scale", """{"workers":5}"""))
        {
            Assert.Equal(HttpStatusCode.OK, scaled.StatusCode);
            var body = await TestHost.JsonAsync(scaled);
            Assert.Equal(5, body.GetProperty("desiredWorkers").GetInt32());
            Assert.Equal(5, body.GetProperty("workers").GetArrayLength());
        }
        using (var down = await host.PostAsync("/api/pools/orders/scale", """{"workers":1}"""))
            Assert.Equal(1, (await TestHost.JsonAsync(down)).GetProperty("workers").GetArrayLength());
    }

    [Theory]
    [InlineData("/api/sources/nope/pause", "source")]
    [InlineData("/api/sources/nope/resume", "source")]
    [InlineData("/api/pools/nope/pause", "worker pool")]
    [InlineData("/api/pools/nope/resume", "worker pool")]
    [InlineData("/api/deadletters/nope/retry", "queue")]
    [InlineData("/api/deadletters/nope/purge", "queue")]
    public async Task Unknown_names_in_admin_actions_give_404_problem_details(string path, string kind)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.PostAsync(path);

        var detail = await TestHost.AssertProblemAsync(response, 404);
        Assert.Equal($"There is no {kind} named 'nope'.", detail);
    }

    [Fact]
    public async Task Unknown_queue_for_dead_letters_and_unknown_pool_for_scale_give_404()
    {
        await using var host = await TestHost.StartAsync();

        using var letters = await host.GetAsync("/api/deadletters/nope");
        await TestHost.AssertProblemAsync(letters, 404);
        using var scale = await host.PostAsync("/api/pools/nope/scale", """{"workers":2}""");
        await TestHost.AssertProblemAsync(scale, 404);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"workers":0}""")]
    [InlineData("""{"workers":-3}""")]
    [InlineData("""{"workers":100000}""")]
    [InlineData("""{"workers":"3"}""")]
    [InlineData("""{"workers":2.5}""")]
    [InlineData("""{"workers":1e400}""")]
    [InlineData("""{"worker":3}""")]
    [InlineData("""{"workers":3,}""")]
    [InlineData("""{"workers":3} trailing""")]
    public async Task Bad_scale_bodies_give_400(string json)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.PostAsync("/api/pools/orders/scale", json);

        await TestHost.AssertProblemAsync(response, 400);
        var pool = (await host.GetJsonAsync("/api/pools")).EnumerateArray().Single(p => p.GetProperty("queue").GetString() == "orders");
        Assert.Equal(3, pool.GetProperty("desiredWorkers").GetInt32());
    }

    [Theory]
    [InlineData("""{"ids":"a"}""")]
    [InlineData("""{"ids":[1]}""")]
    [InlineData("""{"ids":[null]}""")]
    [InlineData("""{"ids":[""]}""")]
    [InlineData("""{"id":["a"]}""")]
    public async Task Bad_dead_letter_bodies_give_400(string json)
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.PostAsync("/api/deadletters/orders/retry", json);

        await TestHost.AssertProblemAsync(response, 400);
    }

    [Fact]
    public async Task A_body_that_is_not_json_gives_415_and_a_body_over_the_limit_gives_413()
    {
        await using var host = await TestHost.StartAsync();

        using var form = new HttpRequestMessage(HttpMethod.Post, "/api/pools/orders/scale") { Content = new StringContent("workers=3", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded") };
        form.Headers.Authorization = new("Bearer", TestHost.Token);
        using var formResponse = await host.Client.SendAsync(form);
        await TestHost.AssertProblemAsync(formResponse, 415);

        var huge = """{"ids":[""" + string.Join(',', Enumerable.Range(0, 20_000).Select(i => $"\"id-{i}\"")) + "]}";
        using var tooLarge = await host.PostAsync("/api/deadletters/orders/purge", huge);
        await TestHost.AssertProblemAsync(tooLarge, 413);
    }

    [Fact]
    public async Task Wrong_methods_give_405_problem_details()
    {
        await using var host = await TestHost.StartAsync();

        using var get = await host.GetAsync("/api/sources/order-feed/pause");
        await TestHost.AssertProblemAsync(get, 405);
        using var post = await host.PostAsync("/api/status");
        await TestHost.AssertProblemAsync(post, 405);
        using var delete = await host.Client.DeleteAsync("/api/pools");
        await TestHost.AssertProblemAsync(delete, 405);
        using var unknown = await host.GetAsync("/api/nothing-here");
        await TestHost.AssertProblemAsync(unknown, 404);
    }

    [Fact]
    public async Task Actions_without_parameters_accept_no_body_or_an_empty_object_and_refuse_anything_else()
    {
        await using var host = await TestHost.StartAsync();

        using (var empty = await host.PostAsync("/api/pools/orders/pause", "{}"))
            Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        using (var none = await host.PostAsync("/api/pools/orders/resume"))
            Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        using var extra = await host.PostAsync("/api/pools/orders/pause", """{"force":true}""");
        await TestHost.AssertProblemAsync(extra, 400);
        var pool = (await host.GetJsonAsync("/api/pools")).EnumerateArray().Single(p => p.GetProperty("queue").GetString() == "orders");
        Assert.False(pool.GetProperty("paused").GetBoolean());
    }

    [Fact]
    public async Task Admin_actions_before_the_runtime_runs_answer_409()
    {
        using var host = TestHost.Build(configure: o => o.Urls = "http://127.0.0.1:0");
        var server = host.Services.GetRequiredService<IControlPlaneServer>();
        // Start only the control plane (the runtime stays Created), the way it answers while the runtime starts.
        var hosted = host.Services.GetServices<IHostedService>().First();
        Assert.Same(server, hosted); // registered ahead of the runtime: it starts first and stops last
        await hosted.StartAsync(CancellationToken.None);
        try
        {
            using var client = new HttpClient { BaseAddress = server.Addresses[0] };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/pools/orders/pause");
            request.Headers.Authorization = new("Bearer", TestHost.Token);
            using var response = await client.SendAsync(request);
            var detail = await TestHost.AssertProblemAsync(response, 409);
            Assert.Contains("Created", detail, StringComparison.Ordinal);
            using var ready = await client.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }
        finally
        {
            await hosted.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Configuration_reload_answers_with_the_result()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.PostAsync("/api/config/reload");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True((await TestHost.JsonAsync(response)).GetProperty("applied").GetBoolean());
    }

    [Fact]
    public async Task Runtime_stop_asks_the_host_to_stop()
    {
        await using var host = await TestHost.StartAsync();
        var lifetime = host.Host.Services.GetRequiredService<IHostApplicationLifetime>();

        using var response = await host.PostAsync("/api/runtime/stop");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.True((await TestHost.JsonAsync(response)).GetProperty("stopping").GetBoolean());
        Assert.True(lifetime.ApplicationStopping.IsCancellationRequested);
    }

    [Fact]
    public async Task The_dashboard_is_served_at_the_root_with_a_strict_content_security_policy()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'sha256-", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("id=\"topology-svg\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_loopback_server_refuses_requests_for_foreign_host_names()
    {
        await using var host = await TestHost.StartAsync();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/status");
        request.Headers.Host = "attacker.example";
        using var response = await host.Client.SendAsync(request);

        await TestHost.AssertProblemAsync(response, 400);
        using var localhost = new HttpRequestMessage(HttpMethod.Get, "/api/status");
        localhost.Headers.Host = "localhost:" + host.BaseAddress.Port;
        using var ok = await host.Client.SendAsync(localhost);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Every_answer_is_marked_nosniff_and_not_cacheable()
    {
        await using var host = await TestHost.StartAsync();

        using var response = await host.GetAsync("/api/status");

        Assert.Equal("nosniff", string.Join(',', response.Headers.GetValues("X-Content-Type-Options")));
        Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task Serialized_json_uses_camel_case_and_enum_names()
    {
        await using var host = await TestHost.StartAsync();

        var status = await host.GetJsonAsync("/api/status");

        Assert.Equal(JsonValueKind.String, status.GetProperty("state").ValueKind);
        Assert.True(status.TryGetProperty("startedAt", out _));
        Assert.Equal(JsonValueKind.String, status.GetProperty("pools")[0].GetProperty("workers")[0].GetProperty("state").ValueKind);
    }
}
