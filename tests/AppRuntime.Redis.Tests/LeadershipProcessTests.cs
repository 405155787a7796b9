using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using AppRuntime.Redis.TestApp;
using AppRuntime.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Source leadership across processes (tests/AppRuntime.Redis.TestApp with its exclusive tick source on a Redis queue): one leader at
/// a time, takeover after kill -9 and after SIGTERM, fencing of a leader frozen past its lease, and the cluster view with the release
/// of a dead instance's leases. Judged by the ticks the handlers recorded in Redis (each carries its publisher's pid and clock), by
/// this test's own reads of the queue's keys and by its own HTTP requests, never by the runtime's counters.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LeadershipProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private const string Token = "leadership-test-token-0123456789abcdef0123";
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private readonly List<(InstanceProcess Process, int Port)> _processes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private ConnectionMultiplexer? _redis;

    private IDatabase Db => _redis!.GetDatabase();

    private string Record => _prefix + ":rec";

    public async Task InitializeAsync() => _redis = await RedisTestServer.ConnectAsync();

    public async Task DisposeAsync()
    {
        foreach (var (p, _) in _processes)
        {
            Signal(p.Id, "CONT");
            p.Dispose();
            output.WriteLine($"--- process {p.Id}:{Environment.NewLine}{p.Output}");
        }
        _http.Dispose();
        if (_redis is not null)
        {
            await RedisTestServer.DeleteKeysAsync(_redis, _prefix);
            await _redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task Three_instances_have_one_leader_at_a_time_and_another_takes_over_after_kill_9_and_after_SIGTERM()
    {
        for (var i = 0; i < 3; i++)
            Start();
        await WaitStartedAsync([.. _processes.Select(p => p.Process)]);

        // Exactly one leader at any time: every live instance's own view (/api/sources), polled throughout, all at once. An instance
        // the test has signalled (killed or asked to stop) no longer counts: a sweep may have read its answer just before the signal
        // and the next leader's just after it.
        using var stopWatching = new CancellationTokenSource();
        var signalled = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        var most = 0;
        var polls = 0;
        var watcher = Task.Run(async () =>
        {
            while (!stopWatching.IsCancellationRequested)
            {
                var live = _processes.Where(p => !p.Process.HasExited && !signalled.ContainsKey(p.Process.Id)).ToList();
                var roles = await Task.WhenAll(live.Select(async p => (p.Process.Id, Role: await RoleAsync(p.Port))));
                var leaders = roles.Count(r => r.Role == "leader" && !signalled.ContainsKey(r.Id));
                most = Math.Max(most, leaders);
                polls++;
                await Task.Delay(100);
            }
        });

        var killed = new List<long>();
        var stopped = new List<long>();
        for (var trial = 0; trial < 10; trial++)
        {
            var sigterm = trial >= 5;
            var leader = await LeaderAsync();
            signalled[leader.Id] = true;
            var at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (sigterm)
                leader.RequestStop();
            else
                leader.KillHard();
            var first = await FirstTickAfterAsync(at, exceptPid: leader.Id);
            var takeover = first.AtMs - at;
            (sigterm ? stopped : killed).Add(takeover);
            output.WriteLine($"trial {trial + 1}: {(sigterm ? "SIGTERM" : "kill -9")} of leader {leader.Id}; {first.Pid} published {takeover} ms later");
            if (sigterm)
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await leader.WaitForExitAsync(deadline.Token);
                Assert.Equal(0, leader.ExitCode);
            }
            // Three instances again for the next trial.
            await WaitStartedAsync([Start()]);
        }
        await stopWatching.CancelAsync();
        await watcher;

        output.WriteLine($"kill -9 takeover ms: {string.Join(", ", killed)} (median {Median(killed)}, max {killed.Max()}); " +
            $"SIGTERM takeover ms: {string.Join(", ", stopped)} (median {Median(stopped)}, max {stopped.Max()}); {polls} polls, at most {most} leader(s)");
        Assert.All(killed, ms => Assert.True(ms <= (long)(Lease + TimeSpan.FromSeconds(1)).TotalMilliseconds, $"takeover after kill -9 took {ms} ms; the bound is the lease ({Lease}) plus 1 s"));
        Assert.All(stopped, ms => Assert.True(ms <= 2000, $"takeover after SIGTERM took {ms} ms; the bound is 2 s"));
        Assert.True(polls > 20, $"only {polls} polls of the leaders");
        Assert.Equal(1, most);

        // The ticks themselves: publishers never overlap. Each publisher's ticks form one span, and the spans follow each other.
        var spans = (await TicksAsync()).GroupBy(t => t.Pid).Select(g => (Pid: g.Key, From: g.Min(t => t.AtMs), To: g.Max(t => t.AtMs))).OrderBy(s => s.From).ToList();
        Assert.True(spans.Count >= 10, $"{spans.Count} publishers");
        for (var i = 1; i < spans.Count; i++)
            Assert.True(spans[i].From > spans[i - 1].To, $"{spans[i].Pid} published from {spans[i].From} while {spans[i - 1].Pid} published until {spans[i - 1].To}");
    }

    [Fact]
    public async Task A_leader_frozen_past_its_lease_publishes_nothing_once_it_is_resumed()
    {
        var a = Start();
        await WaitStartedAsync([a]);
        await Eventually.TrueAsync(async () => (await TicksAsync()).Any(t => t.Pid == a.Id), "A leads and publishes", TimeSpan.FromSeconds(30));
        var b = Start();
        await WaitStartedAsync([b]);

        Signal(a.Id, "STOP");
        var frozenAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        output.WriteLine($"SIGSTOP to A ({a.Id}) at {frozenAt}");
        var first = await FirstTickAfterAsync(frozenAt, exceptPid: a.Id);
        output.WriteLine($"B ({first.Pid}) took over {first.AtMs - frozenAt} ms after A froze");
        Signal(a.Id, "CONT");
        var resumedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // A wakes with its old lease. Whatever it tries to publish now is refused by the publish script (its token is not the lease's).
        await Eventually.TrueAsync(async () => await RoleAsync(Port(a)) == "standby", "A stands by after it was resumed", TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await TicksAsync()).Count(t => t.Pid == b.Id && t.AtMs > resumedAt + 1000) > 5, "B goes on publishing",
            TimeSpan.FromSeconds(30));
        var late = (await TicksAsync()).Where(t => t.Pid == a.Id && t.AtMs >= frozenAt).ToList();
        Assert.True(late.Count == 0, $"A published {late.Count} tick(s) made after it was frozen: {string.Join(", ", late.Select(t => t.Seq))}");
        Assert.False(a.HasExited);
        Assert.Contains("lost its lease", a.Output, StringComparison.Ordinal);
        // Nothing of A's is stuck in the queue either: every tick published is handled.
        await Eventually.TrueAsync(async () => await Db.ListLengthAsync($"{_prefix}:{{ticks}}:ready") == 0, "the tick queue drains");
    }

    [Fact]
    public async Task The_cluster_view_marks_a_killed_instance_dead_with_its_leases_and_an_operator_releases_them()
    {
        string[] slow = ["--AppRuntime:Queues:slow:Backend=Redis", "--AppRuntime:Queues:slow:VisibilityTimeout=00:05:00", "--AppRuntime:Pools:slow:Workers=2",
            "--TickTest:Enabled=false"];
        var a = Start(slow);
        await WaitStartedAsync([a]);
        await PublishSlowAsync("s0", "s1");
        await Eventually.TrueAsync(async () => (await Db.ListLengthAsync(Record + ":started")) == 2, "A started both slow tasks", TimeSpan.FromSeconds(30));
        var b = Start(slow);
        await WaitStartedAsync([b]);
        var view = await ClusterAsync(Port(b));
        Assert.Equal(2, view.GetProperty("instances").GetArrayLength());

        // Releasing a live instance's leases is refused.
        using (var refused = await ReleaseAsync(Port(b), InstanceId(view, a.Id)))
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);

        a.KillHard();
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        JsonElement dead = default;
        await Eventually.TrueAsync(async () =>
        {
            view = await ClusterAsync(Port(b));
            dead = view.GetProperty("instances").EnumerateArray().Single(i => i.GetProperty("processId").GetInt32() == a.Id);
            return !dead.GetProperty("alive").GetBoolean();
        }, "B's cluster view shows A dead", TimeSpan.FromSeconds(30));
        output.WriteLine(view.ToString());
        Assert.Equal(2, dead.GetProperty("leases").GetProperty("slow").GetInt32());
        var slowQueue = view.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("queue").GetString() == "slow");
        Assert.Equal(2, slowQueue.GetProperty("dead").GetInt32());
        Assert.Equal(0, slowQueue.GetProperty("live").GetInt32());

        var releasedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var released = await ReleaseAsync(Port(b), dead.GetProperty("id").GetString()!))
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
            Assert.Equal(2, JsonDocument.Parse(await released.Content.ReadAsStringAsync()).RootElement.GetProperty("released").GetInt32());
        }
        // B starts both tasks now, not when the five-minute leases run out.
        await Eventually.TrueAsync(async () => (await Db.ListRangeAsync(Record + ":started")).Count(v => ((string)v!).Split(' ')[1] == b.Id.ToString(CultureInfo.InvariantCulture)) == 2,
            "B started both of A's tasks", TimeSpan.FromSeconds(10));
        var startedByB = (await Db.ListRangeAsync(Record + ":started")).Select(v => ((string)v!).Split(' ')).Where(p => p[1] == b.Id.ToString(CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(["s0", "s1"], startedByB.Select(p => p[0]).Order(StringComparer.Ordinal));
        Assert.All(startedByB, p => Assert.Equal("2", p[2]));
        Assert.All(startedByB, p => Assert.True(long.Parse(p[3], CultureInfo.InvariantCulture) - releasedAt < 5000, $"{p[0]} started {long.Parse(p[3], CultureInfo.InvariantCulture) - releasedAt} ms after the release"));
        output.WriteLine($"A killed at {killedAt}, released at {releasedAt}");
    }

    private InstanceProcess Start(params string[] extra)
    {
        var port = FreePort();
        string[] settings =
        [
            "--AppRuntime:Queues:ticks:Backend=Redis",
            "--AppRuntime:Redis:Configuration=" + RedisTestServer.Endpoint,
            "--AppRuntime:Redis:KeyPrefix=" + _prefix,
            "--AppRuntime:Sources:ticks:LeaseDuration=" + Lease.ToString("c", CultureInfo.InvariantCulture),
            "--AppRuntime:Cluster:HeartbeatInterval=00:00:00.500",
            "--AppRuntime:Cluster:InstanceTtl=00:00:03",
            "--AppRuntime:ControlPlane:Urls=http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--AppRuntime:ControlPlane:Token=" + Token,
            "--TickTest:Enabled=true",
            "--TickTest:Interval=00:00:00.050",
            "--SlowTest:Record=" + Record,
        ];
        var p = InstanceProcess.Start([.. settings, .. extra]);
        _processes.Add((p, port));
        return p;
    }

    private int Port(InstanceProcess p) => _processes.Single(x => x.Process == p).Port;

    private static async Task WaitStartedAsync(IReadOnlyList<InstanceProcess> processes)
    {
        foreach (var p in processes)
            await Eventually.TrueAsync(() => p.Output.Contains("AppRuntime started", StringComparison.Ordinal), $"process {p.Id} started", TimeSpan.FromSeconds(60));
    }

    /// <summary>The live instance whose source says it leads.</summary>
    private async Task<InstanceProcess> LeaderAsync()
    {
        InstanceProcess? leader = null;
        await Eventually.TrueAsync(async () =>
        {
            foreach (var (p, port) in _processes.Where(p => !p.Process.HasExited))
            {
                if (await RoleAsync(port) == "leader")
                {
                    leader = p;
                    return true;
                }
            }
            return false;
        }, "one instance leads", TimeSpan.FromSeconds(30));
        return leader!;
    }

    private async Task<string?> RoleAsync(int port)
    {
        try
        {
            var json = await _http.GetStringAsync($"http://127.0.0.1:{port}/api/sources");
            using var doc = JsonDocument.Parse(json);
            var ticks = doc.RootElement.EnumerateArray().Where(s => s.GetProperty("name").GetString() == "ticks").ToList();
            return ticks.Count == 1 ? ticks[0].GetProperty("leadership").GetProperty("role").GetString() : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return null; // not listening yet, stopping, or gone
        }
    }

    private async Task<JsonElement> ClusterAsync(int port)
    {
        var json = await _http.GetStringAsync($"http://127.0.0.1:{port}/api/cluster");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static string InstanceId(JsonElement view, int pid) =>
        view.GetProperty("instances").EnumerateArray().Single(i => i.GetProperty("processId").GetInt32() == pid).GetProperty("id").GetString()!;

    private async Task<HttpResponseMessage> ReleaseAsync(int port, string instanceId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/api/cluster/instances/{Uri.EscapeDataString(instanceId)}/release-leases");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return await _http.SendAsync(request);
    }

    private async Task<Tick> FirstTickAfterAsync(long atMs, int exceptPid)
    {
        Tick? first = null;
        await Eventually.TrueAsync(async () =>
        {
            first = (await TicksAsync()).Where(t => t.Pid != exceptPid && t.AtMs > atMs).OrderBy(t => t.AtMs).FirstOrDefault();
            return first is not null;
        }, "another instance publishes", TimeSpan.FromSeconds(30));
        return first!;
    }

    private async Task<List<Tick>> TicksAsync() =>
        [.. (await Db.ListRangeAsync(Record + ":ticks")).Select(v => Tick.Parse(v!))];

    private async Task PublishSlowAsync(params string[] ids)
    {
        var queue = new RedisQueueBackend(_redis!, new RedisQueueOptions { KeyPrefix = _prefix }).Create(
            new QueueDefinition("slow", typeof(SlowTask).FullName!) { VisibilityTimeout = TimeSpan.FromMinutes(5) },
            new JsonTaskSerializer<SlowTask>(SlowJsonContext.Default.SlowTask));
        var n = 0;
        foreach (var id in ids)
            await queue.PublishAsync(new TaskEnvelope<SlowTask>(id, typeof(SlowTask).FullName!, new SlowTask(n++, 600_000), DateTimeOffset.UtcNow));
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {pid}") { RedirectStandardError = true, UseShellExecute = false })!;
        kill.WaitForExit();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static long Median(List<long> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>"publisher-pid seq at-ms handler-pid", as the tick handler writes it.</summary>
    private sealed record Tick(int Pid, long Seq, long AtMs, int HandlerPid)
    {
        public static Tick Parse(string text)
        {
            var p = text.Split(' ');
            return new Tick(int.Parse(p[0], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture),
                long.Parse(p[2], CultureInfo.InvariantCulture), int.Parse(p[3], CultureInfo.InvariantCulture));
        }
    }
}
