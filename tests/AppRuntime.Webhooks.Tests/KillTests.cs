using System.Collections.Concurrent;
using System.Diagnostics;
using AppRuntime.TestSupport;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace AppRuntime.Webhooks.Tests;

/// <summary>
/// kill -9 under load on the Redis backend: a client sends 2,000 signed webhooks and records every answer; the app process is
/// SIGKILLed mid-run and started again on the same port; the client retries every event that got no answer or a non-2xx (as a
/// provider does). Afterwards every event is in the handler's store exactly once and the queue published each event exactly once.
/// Run with the default settings and with the queue's prefetch (<c>AppRuntime:Queues:payments:Prefetch</c>): then the process
/// also holds tasks its batch publishes leased to its own buffer when it dies.
/// </summary>
public sealed class KillTests(ITestOutputHelper output)
{
    private const int Events = 2000;
    private const int Senders = 32;
    private const int KillAfterAccepted = 600;

    [Theory]
    [InlineData(null)]
    [InlineData(64)]
    public async Task Kill_9_mid_run_loses_no_acknowledged_event_and_publishes_each_event_once(int? prefetch)
    {
        var prefix = RedisTestServer.NewPrefix();
        var port = AppProcess.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["AppRuntime:DefaultBackend"] = "Redis",
            ["WebhookTestApp:HandlerDelay"] = "00:00:00.002", // tasks are in flight when the process dies
        };
        if (prefetch is { } n)
            settings["AppRuntime:Queues:payments:Prefetch"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var redis = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Endpoint);
        var db = redis.GetDatabase();
        var app = await AppProcess.StartAsync(port, prefix, settings);
        var apps = new List<AppProcess> { app };
        try
        {
            var answers = new ConcurrentQueue<(int Event, int Status)>[Events];
            for (var i = 0; i < Events; i++)
                answers[i] = new();
            var done = new bool[Events];
            var next = -1;
            var retries = new ConcurrentQueue<int>();
            var acknowledged = 0;
            var killed = new TaskCompletionSource();
            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(2) })
            {
                BaseAddress = app.BaseAddress,
                Timeout = TimeSpan.FromSeconds(10),
            };
            var deadline = Stopwatch.StartNew();

            async Task SendAsync(int n)
            {
                var id = $"evt-{n:D4}";
                int status;
                try
                {
                    using var response = await client.SendAsync(Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, id, $$"""{"test": {{n}}}"""));
                    status = (int)response.StatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
                {
                    status = 0; // no answer
                }
                answers[n].Enqueue((n, status));
                if (status is >= 200 and < 300)
                {
                    Volatile.Write(ref done[n], true);
                    if (Interlocked.Increment(ref acknowledged) == KillAfterAccepted)
                        killed.TrySetResult();
                }
                else
                {
                    retries.Enqueue(n);
                    await Task.Delay(20); // a provider would wait Retry-After; the test keeps it short
                }
            }

            async Task SenderAsync()
            {
                while (deadline.Elapsed < TimeSpan.FromSeconds(180))
                {
                    if (retries.TryDequeue(out var again))
                    {
                        await SendAsync(again);
                        continue;
                    }
                    var n = Interlocked.Increment(ref next);
                    if (n < Events)
                    {
                        await SendAsync(n);
                        continue;
                    }
                    if (Enumerable.Range(0, Events).All(i => Volatile.Read(ref done[i])))
                        return;
                    await Task.Delay(10);
                }
            }

            var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(SenderAsync)).ToList();
            await killed.Task.WaitAsync(TimeSpan.FromSeconds(120));
            app.KillHard();
            var acknowledgedAtKill = Volatile.Read(ref acknowledged);
            app = await AppProcess.StartAsync(port, prefix, settings);
            apps.Add(app);
            await Task.WhenAll(senders);

            // Every event was acknowledged with a 2xx at last (the client retried the others).
            var missing = Enumerable.Range(0, Events).Where(i => !done[i]).ToList();
            Assert.True(missing.Count == 0, $"{missing.Count} events never got a 2xx; last output:\n{app.Output}");

            // The handler's store holds every event once.
            try
            {
                await Eventually.TrueAsync(async () => await db.HashLengthAsync(prefix + ":handled") == Events,
                    "every event reaches the handler (leases of the killed process expire after 5 s)", TimeSpan.FromSeconds(120));
            }
            catch (TimeoutException)
            {
                var stored = (await db.HashKeysAsync(prefix + ":handled")).Select(k => (string)k!).ToHashSet(StringComparer.Ordinal);
                var lost = Enumerable.Range(0, Events).Where(n => !stored.Contains($"payments:evt-{n:D4}")).ToList();
                var lostAfter2xx = lost.Where(n => answers[n].Any(a => a.Status is >= 200 and < 300)).ToList();
                var stats = string.Join(", ", (await db.HashGetAllAsync(prefix + ":{payments}:stats")).Select(e => $"{e.Name}={e.Value}"));
                var output = app.Output;
                Assert.Fail($"{lost.Count} events never reached the handler within 120 s, {lostAfter2xx.Count} of them answered 2xx " +
                    $"(first: {string.Join(", ", lostAfter2xx.Take(10).Select(n => $"evt-{n:D4} {string.Join('/', answers[n].Select(a => a.Status))}"))}); " +
                    $"queue stats: {stats}; last output of the restarted app:\n{output[Math.Max(0, output.Length - 4000)..]}");
            }
            var handled = (await db.HashKeysAsync(prefix + ":handled")).Select(k => (string)k!).ToHashSet(StringComparer.Ordinal);
            Assert.Equal(Enumerable.Range(0, Events).Select(n => $"payments:evt-{n:D4}").ToHashSet(StringComparer.Ordinal), handled);

            // The queue published each event once: redeliveries of the client did not publish again, across the restart.
            var published = (long)await db.HashGetAsync(prefix + ":{payments}:stats", "published");
            Assert.Equal(Events, published);
            var firstAttempts = (await db.HashGetAllAsync(prefix + ":first-attempts")).ToDictionary(e => (string)e.Name!, e => (long)e.Value);
            Assert.All(firstAttempts, e => Assert.True(e.Value == 1, $"{e.Key} was delivered as a first attempt {e.Value} times"));
            var deliveries = (await db.HashGetAllAsync(prefix + ":deliveries")).Sum(e => (long)e.Value);

            // A provider's late redelivery of every event (all handled and acked by now) within the retention window: all duplicates.
            var late = new ConcurrentBag<int>();
            await Parallel.ForEachAsync(Enumerable.Range(0, Events), new ParallelOptions { MaxDegreeOfParallelism = Senders }, async (n, ct) =>
            {
                using var response = await client.SendAsync(Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, $"evt-{n:D4}", $$"""{"test": {{n}}}"""), ct);
                late.Add((int)response.StatusCode);
            });
            Assert.All(late, status => Assert.Equal(200, status));
            Assert.Equal(Events, (long)await db.HashGetAsync(prefix + ":{payments}:stats", "published"));

            var all = answers.SelectMany(q => q).ToList();
            var retried = Enumerable.Range(0, Events).Count(n => answers[n].Any(a => a.Status is < 200 or >= 300));
            var retriedThenDuplicate = Enumerable.Range(0, Events).Count(n =>
                answers[n].Any(a => a.Status is < 200 or >= 300) && answers[n].Last().Status == 200);
            output.WriteLine($"app: {AppProcess.Describe}, prefetch {prefetch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default"}; killed after {acknowledgedAtKill} acknowledged events");
            output.WriteLine($"requests: {all.Count}; answers 202: {all.Count(a => a.Status == 202)}, 200: {all.Count(a => a.Status == 200)}, " +
                $"503: {all.Count(a => a.Status == 503)}, no answer: {all.Count(a => a.Status == 0)}, other: {all.Count(a => a.Status is not (0 or 200 or 202 or 503))}");
            output.WriteLine($"events retried by the client: {retried}, of which answered 200 duplicate at last (published before the kill): {retriedThenDuplicate}");
            output.WriteLine($"handler deliveries: {deliveries} for {Events} events (redeliveries after the kill: {deliveries - Events}); " +
                $"first attempts recorded: {firstAttempts.Count} (a first attempt that died with the process is not recorded)");
            Assert.True(all.Count(a => a.Status == 0) > 0, "the kill cut some requests off (otherwise the test did not kill mid-run)");
        }
        finally
        {
            foreach (var a in apps)
                a.Dispose();
            var server = redis.GetServer(redis.GetEndPoints()[0]);
            await foreach (var key in server.KeysAsync(pattern: prefix + ":*"))
                await db.KeyDeleteAsync(key);
        }
    }
}
