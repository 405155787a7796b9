using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// The control plane of a runtime whose queue lives on a redis-server of the test's own. Issue #19, finding 3: while that Redis is
/// stopped (and while it hangs).
/// A redis-server of the test's own (tests/infra/redis.sh on a port of its own) is stopped under the running control plane; every
/// read and action that needs it must answer 503 with Retry-After and an RFC 7807 body naming the backend, within the backend
/// timeout, never 500, and answer normally again once Redis is back. Judged by the test's own HTTP client.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisControlPlaneIntegrationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int RedisPort = 6393;
    private static readonly string RedisDir = Path.Combine(Path.GetTempPath(), $"appruntime-redis-controlplane-{RedisPort}");
    private static readonly TimeSpan BackendTimeout = TimeSpan.FromSeconds(2);

    /// <summary>What an answer while the backend is away may take at most: the backend timeout and some slack for a busy machine.</summary>
    private static readonly TimeSpan MaxAnswerTime = BackendTimeout + TimeSpan.FromSeconds(2);

    public Task InitializeAsync() => RedisScriptAsync("start");

    public Task DisposeAsync() => RedisScriptAsync("stop");

    [Fact]
    public async Task With_redis_stopped_every_read_and_action_that_needs_it_answers_503_naming_redis_within_the_timeout_and_recovers()
    {
        await using var host = await StartHostAsync();
        await Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/deadletters/orders")).GetArrayLength() == 2, "two tasks are dead-lettered");

        await RedisScriptAsync("stop");

        foreach (var (method, path) in RedisEndpoints)
            await AssertUnavailableAsync(host, method, path);
        // What does not need Redis keeps answering.
        foreach (var path in new[] { "/api/pools", "/api/sources", "/api/topology", "/api/traces/recent" })
        {
            using var response = await host.GetAsync(path);
            Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode} while Redis is down");
        }
        using (var ready = await host.GetAsync("/health/ready"))
            Assert.Equal(503, (int)ready.StatusCode);
        using (var health = await host.GetAsync("/health"))
        {
            var body = await health.Content.ReadAsStringAsync();
            Assert.Contains("Redis", body, StringComparison.Ordinal);
        }

        await RedisScriptAsync("restart"); // same data directory: the AOF brings the dead letters back
        await Eventually.TrueAsync(async () =>
        {
            using var status = await host.GetAsync("/api/status");
            return status.IsSuccessStatusCode;
        }, "the status answers 200 again once Redis is back", TimeSpan.FromSeconds(30));
        Assert.Equal(2, (await host.GetJsonAsync("/api/deadletters/orders")).GetArrayLength());
        using var retry = await host.PostAsync("/api/deadletters/orders/purge", """{"ids":["t-1"]}""");
        Assert.Equal(200, (int)retry.StatusCode);
    }

    [Fact]
    public async Task With_redis_hung_a_status_read_answers_503_within_the_backend_timeout()
    {
        await using var host = await StartHostAsync();
        await Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/deadletters/orders")).GetArrayLength() == 2, "two tasks are dead-lettered");
        var pid = int.Parse(File.ReadAllText(Path.Combine(RedisDir, "redis.pid")).Trim(), CultureInfo.InvariantCulture);

        await SignalAsync("STOP", pid); // the connection stays open; the server just never answers
        try
        {
            foreach (var (method, path) in RedisEndpoints)
                await AssertUnavailableAsync(host, method, path);
        }
        finally
        {
            await SignalAsync("CONT", pid);
        }

        await Eventually.TrueAsync(async () =>
        {
            using var status = await host.GetAsync("/api/status");
            return status.IsSuccessStatusCode;
        }, "the status answers 200 again once Redis answers", TimeSpan.FromSeconds(30));
    }

    /// <summary>Issue #19, finding 4: a dead letter with a corrupt time field, planted with redis-cli, must not fail the listing.</summary>
    [Fact]
    public async Task A_dead_letter_listing_answers_200_without_an_unreadable_entry_and_counts_it_in_a_header()
    {
        var prefix = "cp" + Guid.NewGuid().ToString("N")[..10];
        await using var host = await StartHostAsync(prefix);
        await Eventually.TrueAsync(async () => (await host.GetJsonAsync("/api/deadletters/orders")).GetArrayLength() == 2, "two tasks are dead-lettered");
        await RedisCliAsync("HSET", $"{prefix}:{{orders}}:t:t-1", "dla", "not-a-time");

        using var response = await host.GetAsync("/api/deadletters/orders");

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        using var letters = JsonDocument.Parse(body);
        Assert.Equal(["t-2"], letters.RootElement.EnumerateArray().Select(l => l.GetProperty("id").GetString()));
        Assert.Equal("1", Assert.Single(response.Headers.GetValues("AppRuntime-Skipped-Dead-Letters")));
        using var purge = await host.PostAsync("/api/deadletters/orders/purge", """{"ids":["t-1"]}""");
        Assert.Equal(200, (int)purge.StatusCode); // still reachable by id
    }

    private static readonly (HttpMethod Method, string Path)[] RedisEndpoints =
    [
        (HttpMethod.Get, "/api/status"),
        (HttpMethod.Get, "/api/queues"),
        (HttpMethod.Get, "/api/deadletters/orders"),
        (HttpMethod.Post, "/api/deadletters/orders/retry"),
        (HttpMethod.Post, "/api/deadletters/orders/purge"),
    ];

    private async Task AssertUnavailableAsync(TestHost host, HttpMethod method, string path)
    {
        var clock = Stopwatch.StartNew();
        using var response = method == HttpMethod.Get ? await host.GetAsync(path) : await host.PostAsync(path, """{"ids":["t-1"]}""");
        var elapsed = clock.Elapsed;
        var body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{method} {path}: {(int)response.StatusCode} after {elapsed.TotalMilliseconds:0} ms: {body}");

        Assert.True((int)response.StatusCode == 503, $"{method} {path} answered {(int)response.StatusCode} after {elapsed}: {body}");
        Assert.True(elapsed < MaxAnswerTime, $"{method} {path} took {elapsed} (backend timeout {BackendTimeout})");
        Assert.True(response.Headers.RetryAfter is not null, $"{method} {path}: no Retry-After");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Redis", problem.RootElement.GetProperty("backend").GetString());
        var detail = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.Contains("Queue 'orders': the Redis backend is unavailable", detail, StringComparison.Ordinal);
    }

    private static async Task<TestHost> StartHostAsync(string? prefix = null)
    {
        prefix ??= "cp" + Guid.NewGuid().ToString("N")[..10];
        var host = await TestHost.StartAsync(b =>
        {
            b.AddQueue(new QueueDefinition("orders", "Text"), new Utf8Serializer());
            b.AddWorkerPool(new WorkerPoolDefinition("orders") { Workers = 1, MaxAttempts = 1 });
            b.AddHandler<string>("orders", _ => new AlwaysFails());
            b.AddRedisQueues();
        }, new Dictionary<string, string?>
        {
            ["AppRuntime:Queues:orders:Backend"] = "Redis",
            ["AppRuntime:Redis:Configuration"] = $"127.0.0.1:{RedisPort}",
            ["AppRuntime:Redis:KeyPrefix"] = prefix,
            ["AppRuntime:BackendTimeout"] = BackendTimeout.ToString("c", CultureInfo.InvariantCulture),
        });
        var publisher = host.Host.Services.GetRequiredService<ITaskPublisher<string>>();
        await publisher.PublishAsync("first", new TaskPublishOptions { Id = "t-1" });
        await publisher.PublishAsync("second", new TaskPublishOptions { Id = "t-2" });
        return host;
    }

    private static async Task RedisScriptAsync(string command)
    {
        var root = FindRepoRoot();
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        start.ArgumentList.Add(Path.Combine(root, "tests", "infra", "redis.sh"));
        start.ArgumentList.Add(command);
        start.Environment["APPRUNTIME_REDIS_PORT"] = RedisPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["APPRUNTIME_REDIS_DIR"] = RedisDir;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        Assert.True(process.ExitCode == 0, $"redis.sh {command} failed ({process.ExitCode}): {await stdout} {await stderr}");
    }

    private static async Task RedisCliAsync(params string[] args)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-h", "127.0.0.1", "-p", RedisPort.ToString(CultureInfo.InvariantCulture), .. args])
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0 && !stdout.StartsWith("(error)", StringComparison.Ordinal), $"redis-cli {string.Join(' ', args)}: {stdout}");
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "infra", "redis.sh")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find tests/infra/redis.sh above " + AppContext.BaseDirectory);
    }

    private sealed class Utf8Serializer : TaskSerializer<string>
    {
        public override byte[] Serialize(string payload) => Encoding.UTF8.GetBytes(payload);

        public override string Deserialize(ReadOnlySpan<byte> data) => Encoding.UTF8.GetString(data);
    }

    private sealed class AlwaysFails : ITaskHandler<string>
    {
        public ValueTask HandleAsync(string task, TaskContext context, CancellationToken cancellationToken) =>
            throw new PermanentTaskException($"cannot handle '{task}'");
    }
}
