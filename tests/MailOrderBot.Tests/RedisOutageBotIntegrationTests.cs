using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using AppRuntime.TestSupport;
using MailKit;
using MailOrderBot.Module;
using Xunit.Abstractions;

namespace MailOrderBot.Tests;

/// <summary>
/// A Redis outage while the bot idles on IMAP: a Redis server of its own (tests/infra/redis.sh on another port, so the shared one is
/// never disturbed) is stopped for a while and started again on its AOF. The outage is logged once, as a Redis outage with its
/// length when it ends; the healthy IMAP session is never dropped; mail that arrived during the outage is processed afterwards.
/// Judged by this test's own IMAP session (flags) and by counting the bot's IMAP logins in its output.
/// </summary>
[Trait("Category", "Integration")]
public sealed class RedisOutageBotIntegrationTests(ITestOutputHelper output)
{
    private const int RedisPort = 6398;

    [Fact]
    public async Task A_redis_outage_is_logged_once_as_one_and_never_drops_the_idling_imap_session()
    {
        var redisEnv = new Dictionary<string, string> { ["APPRUNTIME_REDIS_PORT"] = RedisPort.ToString(CultureInfo.InvariantCulture) };
        await ImapTestServer.RunInfraScriptAsync("redis.sh", "start", redisEnv);
        var db = Path.Combine(Path.GetTempPath(), $"bot-redis-outage-{Guid.NewGuid():N}.db");
        try
        {
            var folder = await ImapTestServer.CreateFolderAsync("redisoutage");
            var config = BotHost.ImapConfig(folder, SourceMode.ImapIdle);
            var args = config.Select(kv => $"--{kv.Key}={kv.Value}").Concat(
            [
                "--MailOrderBot:Store:Path=" + db,
                "--AppRuntime:Queues:orders:Backend=Redis",
                "--AppRuntime:Redis:Configuration=127.0.0.1:" + RedisPort.ToString(CultureInfo.InvariantCulture),
                "--AppRuntime:Redis:KeyPrefix=outage",
                // The IMAP source leads through a lease in Redis: an outage shorter than the lease keeps the leadership (and the session).
                "--AppRuntime:Sources:inbox:LeaseDuration=00:00:30",
                "--Logging:LogLevel:Default=Information",
            ]).ToArray();
            await using var bot = BotProcess.Start(new Dictionary<string, string>(), args);
            var before = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Before", "SKU-1001 x 1\n", "before-outage@test"));
            await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder))[before.Id].Flags!.Value.HasFlag(MessageFlags.Seen),
                "the first email is processed and marked read" + Environment.NewLine + bot.Stdout, TimeSpan.FromSeconds(60));
            var logins = Regex.Count(bot.Stdout, "IMAP source inbox connected to");
            Assert.True(logins >= 1, "the IMAP source logs its connection: " + bot.Stdout);

            // Redis goes away; mail keeps arriving.
            await ImapTestServer.RunInfraScriptAsync("redis.sh", "stop", redisEnv);
            var during = new List<UniqueId>();
            for (var i = 0; i < 3; i++)
                during.Add(await ImapTestServer.AppendAsync(folder, ImapTestServer.Message($"During {i}", "SKU-1002 x 2\n", $"during-outage-{i}@test")));
            await Eventually.TrueAsync(() => bot.Stdout.Contains("Redis outage:", StringComparison.Ordinal), "the bot notices the outage" + Environment.NewLine + bot.Stdout,
                TimeSpan.FromSeconds(60));
            var outageSeen = Stopwatch.StartNew();
            // Let the outage last: the source waits to publish and the workers retry meanwhile (several seconds of failing calls).
            await Eventually.TrueAsync(() => outageSeen.Elapsed > TimeSpan.FromSeconds(3), "the outage lasts a few seconds");
            await ImapTestServer.RunInfraScriptAsync("redis.sh", "restart", redisEnv);

            await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder)).Values.All(m => m.Flags!.Value.HasFlag(MessageFlags.Seen)),
                "the emails that arrived during the outage are processed and marked read" + Environment.NewLine + bot.Stdout, TimeSpan.FromSeconds(60));
            await Eventually.TrueAsync(() => bot.Stdout.Contains("Redis outage over", StringComparison.Ordinal), "the end of the outage is logged", TimeSpan.FromSeconds(30));
            var log = bot.Stdout;
            output.WriteLine(log);

            // Once per queue, as a Redis outage; its end with the duration; the IMAP session was never dropped.
            Assert.Equal(1, Regex.Count(log, "Redis outage: queue 'orders'"));
            Assert.Matches(new Regex(@"Redis outage over: queue 'orders' reaches Redis at [^ ]+ again after \d\d:\d\d:\d\d"), log);
            Assert.DoesNotContain("lost its connection", log, StringComparison.Ordinal);
            Assert.DoesNotContain("lost its lease", log, StringComparison.Ordinal);
            Assert.Equal(logins, Regex.Count(log, "IMAP source inbox connected to"));
        }
        finally
        {
            await ImapTestServer.RunInfraScriptAsync("redis.sh", "stop", redisEnv);
            foreach (var file in new[] { db, db + "-wal", db + "-shm" })
                File.Delete(file);
        }
    }
}
