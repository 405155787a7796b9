using AppRuntime.TestSupport;
using StackExchange.Redis;

namespace AppRuntime.Webhooks.Tests;

/// <summary>
/// Idempotency: the provider's event id is the task's idempotency key. A redelivery within the retention window is answered 200
/// with the first task's id and publishes nothing: in memory, and on Redis across instances and restarts.
/// </summary>
public sealed class ReplayTests
{
    private static HttpRequestMessage Payment(string id, int value = 1) =>
        Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, id, $$"""{"test": {{value}}}""");

    [Theory]
    [InlineData("InMemory")]
    [InlineData("Redis")]
    public async Task The_same_valid_request_sent_twice_makes_one_task(string backend)
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Backend = backend, RedisPrefix = RedisTestServer.NewPrefix() });
        var request = Payment("msg_replay_" + backend);
        var copy = Payment("msg_replay_" + backend);

        using var first = await host.SendAsync(request);
        using var second = await host.SendAsync(copy);

        var accepted = await TestHost.AssertAsync(first, 202);
        var duplicate = await TestHost.AssertAsync(second, 200);
        Assert.Equal("accepted", accepted.GetProperty("status").GetString());
        Assert.Equal("duplicate", duplicate.GetProperty("status").GetString());
        Assert.Equal(accepted.GetProperty("taskId").GetString(), duplicate.GetProperty("taskId").GetString());
        var taskId = accepted.GetProperty("taskId").GetString()!;
        await Eventually.TrueAsync(() => host.Store.Deliveries.ContainsKey(taskId), "the task is handled");
        // A third delivery after the task was handled (acked, gone from the queue) is still a duplicate within the window.
        using var third = await host.SendAsync(Payment("msg_replay_" + backend));
        Assert.Equal("duplicate", (await TestHost.AssertAsync(third, 200)).GetProperty("status").GetString());
        Assert.Equal(1, host.Store.Deliveries[taskId]);
        Assert.Single(host.Store.Tasks);
    }

    [Theory]
    [InlineData("InMemory")]
    [InlineData("Redis")]
    public async Task Twenty_concurrent_deliveries_of_one_event_give_one_202_and_one_task(string backend)
    {
        await using var host = await TestHost.StartAsync(new HostOptions { Backend = backend, RedisPrefix = RedisTestServer.NewPrefix() });
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => host.SendAsync(Payment("msg_concurrent"))));

        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        Assert.Equal(1, statuses.Count(s => s == 202));
        Assert.Equal(19, statuses.Count(s => s == 200));
        var ids = new HashSet<string>();
        foreach (var response in responses)
        {
            ids.Add((await TestHost.JsonAsync(response)).GetProperty("taskId").GetString()!);
            response.Dispose();
        }
        Assert.Equal(["payments:msg_concurrent"], ids);
        await Eventually.TrueAsync(() => host.Store.Deliveries.ContainsKey("payments:msg_concurrent"), "the task is handled");
        Assert.Equal(1, host.Store.Deliveries["payments:msg_concurrent"]);
    }

    [Fact]
    public async Task On_Redis_a_redelivery_to_another_instance_and_after_a_restart_publishes_nothing()
    {
        var prefix = RedisTestServer.NewPrefix();
        var options = new HostOptions { Backend = "Redis", RedisPrefix = prefix };
        await using var a = await TestHost.StartAsync(options);
        await using var b = await TestHost.StartAsync(options);

        using var first = await a.SendAsync(Payment("msg_two_instances"));
        using var second = await b.SendAsync(Payment("msg_two_instances"));
        Assert.Equal(202, (int)first.StatusCode);
        Assert.Equal("duplicate", (await TestHost.AssertAsync(second, 200)).GetProperty("status").GetString());
        await a.DisposeAsync();
        await b.DisposeAsync();

        await using var restarted = await TestHost.StartAsync(options);
        using var third = await restarted.SendAsync(Payment("msg_two_instances"));
        Assert.Equal("duplicate", (await TestHost.AssertAsync(third, 200)).GetProperty("status").GetString());

        // What Redis holds: the event's deduplication key, and the published counter of one task.
        using var redis = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Endpoint);
        var ttl = await redis.GetDatabase().KeyTimeToLiveAsync(prefix + ":{payments}:once:payments:msg_two_instances");
        Assert.True(ttl > TimeSpan.FromHours(23), $"the event id is kept for the 24 h retention window (TTL {ttl})");
        var published = await redis.GetDatabase().HashGetAsync(prefix + ":{payments}:stats", "published");
        Assert.Equal(1, (long)published);
    }

    [Fact]
    public async Task After_the_retention_window_the_same_event_id_is_published_again()
    {
        await using var host = await TestHost.StartAsync(new HostOptions
        {
            Settings =
            {
                ["AppRuntime:Webhooks:Sources:github:RetentionWindow"] = "00:00:01",
            },
        });
        const string push = """{"ref":"refs/heads/main"}""";
        using var first = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-window", push));
        Assert.Equal(202, (int)first.StatusCode);
        using var within = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-window", push));
        Assert.Equal(200, (int)within.StatusCode);

        await Eventually.TrueAsync(async () =>
        {
            using var later = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "delivery-window", push));
            return (int)later.StatusCode == 202;
        }, "a delivery after the one-second window is published again", TimeSpan.FromSeconds(10));
    }
}
