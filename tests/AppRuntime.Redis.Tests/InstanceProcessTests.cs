using System.Diagnostics;
using System.Globalization;
using AppRuntime.Redis.TestApp;
using AppRuntime.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// Instances of one generated app (tests/AppRuntime.Redis.TestApp) as processes sharing a Redis queue with slow handlers: a
/// SIGKILLed instance's leases come back within the configured visibility timeout, and a stopping instance waits for its own
/// tasks only. Judged by what the handlers recorded in Redis (their process id and clock) and by this test's own reads of the
/// queue's keys, never by the runtime's counters.
/// </summary>
[Trait("Category", "Integration")]
public sealed class InstanceProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Visibility = TimeSpan.FromSeconds(5);
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private readonly List<InstanceProcess> _processes = [];
    private ConnectionMultiplexer? _redis;

    private IDatabase Db => _redis!.GetDatabase();

    private string Record => _prefix + ":rec";

    public async Task InitializeAsync() => _redis = await RedisTestServer.ConnectAsync();

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
            output.WriteLine($"--- process {p.Id}:{Environment.NewLine}{p.Output}");
        }
        if (_redis is not null)
        {
            await RedisTestServer.DeleteKeysAsync(_redis, _prefix);
            await _redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_killed_instances_four_leased_tasks_reach_another_instance_within_the_visibility_timeout_plus_2_s()
    {
        var a = Start(workers: 4);
        await PublishAsync(("t0", 600_000), ("t1", 600_000), ("t2", 600_000), ("t3", 600_000));
        await Eventually.TrueAsync(async () => (await StartedAsync()).Count == 4, "instance A started all four tasks", TimeSpan.FromSeconds(60));
        var first = await StartedAsync();
        Assert.All(first, s => Assert.Equal((a.Id, 1), (s.Pid, s.Attempt)));
        var b = Start(workers: 4);
        await Eventually.TrueAsync(() => b.Output.Contains("AppRuntime started", StringComparison.Ordinal), "instance B started", TimeSpan.FromSeconds(60));

        // The handlers outlive their first lease (5 s) by far: A's heartbeats keep the leases, so nobody else gets the tasks.
        var leasedAt = first.Max(s => s.AtMs);
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > leasedAt + (long)Visibility.TotalMilliseconds + 1000,
            "the first leases' visibility timeout is over");
        Assert.Equal(4, (await StartedAsync()).Count);
        Assert.Equal(4, await Db.SortedSetLengthAsync(Key("leases")));

        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        a.KillHard();
        output.WriteLine($"killed A ({a.Id}) with SIGKILL at {killedAt}");

        await Eventually.TrueAsync(async () => (await StartedAsync()).Count(s => s.Pid == b.Id) == 4, "instance B started all four tasks", TimeSpan.FromSeconds(30));
        var again = (await StartedAsync()).Where(s => s.Pid == b.Id).ToList();
        foreach (var s in again)
            output.WriteLine($"{s.TaskId}: redelivered to B {s.AtMs - killedAt} ms after the kill (attempt {s.Attempt})");
        Assert.Equal(["t0", "t1", "t2", "t3"], again.Select(s => s.TaskId).Order(StringComparer.Ordinal));
        Assert.All(again, s => Assert.Equal(2, s.Attempt));
        Assert.All(again, s => Assert.True(s.AtMs - killedAt <= (long)(Visibility + TimeSpan.FromSeconds(2)).TotalMilliseconds,
            $"{s.TaskId} reached B {s.AtMs - killedAt} ms after the kill; the bound is the visibility timeout ({Visibility}) plus 2 s"));
    }

    [Fact]
    public async Task A_stopping_instance_waits_for_its_own_task_and_not_for_the_tasks_another_instance_holds()
    {
        // A: two workers, both busy with a ten-minute task.
        var a = Start(workers: 2);
        await PublishAsync(("a0", 600_000), ("a1", 600_000));
        await Eventually.TrueAsync(async () => (await StartedAsync()).Count == 2, "instance A started its two tasks", TimeSpan.FromSeconds(60));

        // B: may drain for 30 s. Its own task takes 2 s.
        var b = Start(workers: 2, "--AppRuntime:DrainTimeout=00:00:30");
        await Eventually.TrueAsync(() => b.Output.Contains("AppRuntime started", StringComparison.Ordinal), "instance B started", TimeSpan.FromSeconds(60));
        await PublishAsync(("b0", 2_000));
        await Eventually.TrueAsync(async () => (await StartedAsync()).Any(s => s.TaskId == "b0"), "instance B started its task", TimeSpan.FromSeconds(30));
        Assert.Equal(b.Id, (await StartedAsync()).Single(s => s.TaskId == "b0").Pid);

        var stopwatch = Stopwatch.StartNew();
        b.RequestStop();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await b.WaitForExitAsync(deadline.Token);
        stopwatch.Stop();
        output.WriteLine($"B stopped in {stopwatch.Elapsed.TotalMilliseconds:F0} ms");

        // B finished its own task, then stopped: it did not wait for A's two (DrainTimeout 30 s, ShutdownTimeout 20 s).
        Assert.Equal(0, b.ExitCode);
        var done = await EntriesAsync("done");
        Assert.Equal(b.Id, Assert.Single(done).Pid);
        Assert.Equal("b0", done[0].TaskId);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(8), $"B took {stopwatch.Elapsed} to stop, waiting for tasks that were not its own");
        // Its log counts its own tasks only: A's two leases are not "its" tasks.
        Assert.Contains("AppRuntime stopped; 0 task(s) remain in its own queues; 0 task(s) it had leased ahead went back to shared queues", b.Output, StringComparison.Ordinal);
        // A still holds both of its tasks; B took neither.
        Assert.False(a.HasExited);
        var leased = (await Db.SortedSetRangeByRankAsync(Key("leases"))).Select(v => (string)v!).Order(StringComparer.Ordinal);
        Assert.Equal(["a0", "a1"], leased);
        Assert.All((await StartedAsync()).Where(s => s.TaskId != "b0"), s => Assert.Equal(a.Id, s.Pid));
    }

    [Fact]
    public async Task A_bad_visibility_timeout_or_an_undeclared_queue_stops_the_start_naming_each_key()
    {
        var p = Start(workers: 1, "--AppRuntime:Queues:slow:VisibilityTimeout=-1", "--AppRuntime:Queues:slw:VisibilityTimeout=00:00:10");
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            await p.WaitForExitAsync(deadline.Token);

        Assert.Equal(AppRuntimeConsole.InvalidConfigurationExitCode, p.ExitCode);
        Assert.Contains("AppRuntime:Queues:slow:VisibilityTimeout: must be between 00:00:05 and 12:00:00.", p.Output, StringComparison.Ordinal);
        Assert.Contains("AppRuntime:Queues:slw: there is no queue named 'slw'; did you mean 'slow'?", p.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("AppRuntime started", p.Output, StringComparison.Ordinal);
    }

    private InstanceProcess Start(int workers, params string[] extra)
    {
        string[] settings =
        [
            "--AppRuntime:Queues:slow:Backend=Redis",
            "--AppRuntime:Queues:slow:VisibilityTimeout=" + Visibility.ToString("c", CultureInfo.InvariantCulture),
            "--AppRuntime:Redis:Configuration=" + RedisTestServer.Endpoint,
            "--AppRuntime:Redis:KeyPrefix=" + _prefix,
            "--AppRuntime:Pools:slow:Workers=" + workers.ToString(CultureInfo.InvariantCulture),
            "--SlowTest:Record=" + Record,
        ];
        // A later argument for the same key wins (the command line is one layer).
        var p = InstanceProcess.Start([.. settings, .. extra]);
        _processes.Add(p);
        return p;
    }

    private async Task PublishAsync(params (string Id, int HandlerMs)[] tasks)
    {
        var queue = new RedisQueueBackend(_redis!, new RedisQueueOptions { KeyPrefix = _prefix }).Create(
            new QueueDefinition("slow", typeof(SlowTask).FullName!) { VisibilityTimeout = Visibility },
            new JsonTaskSerializer<SlowTask>(SlowJsonContext.Default.SlowTask));
        var n = 0;
        foreach (var (id, ms) in tasks)
            await queue.PublishAsync(new TaskEnvelope<SlowTask>(id, typeof(SlowTask).FullName!, new SlowTask(n++, ms), DateTimeOffset.UtcNow));
        await ((IAsyncDisposable)queue).DisposeAsync();
    }

    private RedisKey Key(string name) => $"{_prefix}:{{slow}}:{name}";

    private Task<List<Entry>> StartedAsync() => EntriesAsync("started");

    private async Task<List<Entry>> EntriesAsync(string list) =>
        [.. (await Db.ListRangeAsync(Record + ":" + list)).Select(v => Entry.Parse(v!))];

    /// <summary>"task-id pid attempt unix-ms", as the handler writes it.</summary>
    private sealed record Entry(string TaskId, int Pid, int Attempt, long AtMs)
    {
        public static Entry Parse(string text)
        {
            var parts = text.Split(' ');
            return new Entry(parts[0], int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture),
                long.Parse(parts[3], CultureInfo.InvariantCulture));
        }
    }
}
