using System.Globalization;
using AppRuntime.TestSupport;
using Microsoft.Data.Sqlite;

namespace MailOrderBot.Tests;

/// <summary>
/// The default SQLite store shared by several bot processes on one machine: real OS processes (<see cref="BotProcess"/>), each with
/// its own inbox folder and four workers, all writing to one database file at the same time, some emails in several inboxes.
/// </summary>
public sealed class SqliteMultiProcessTests : IDisposable
{
    private const int Processes = 4;
    private const int UniquePerInbox = 50;
    private const int SharedEmails = 10; // in every inbox: each stored once, the other copies are "already stored"

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bot-multi-{Guid.NewGuid():N}");

    public SqliteMultiProcessTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private static string Email(string messageId, int quantity) =>
        TestData.Headers($"<{messageId}>").ReplaceLineEndings("\r\n") + $"SKU-1001 x {quantity}\r\n";

    [Fact]
    public async Task Four_bot_processes_writing_to_one_sqlite_file_store_every_order_exactly_once_without_busy_failures()
    {
        var database = Path.Combine(_dir, "orders.db");
        var inboxes = Enumerable.Range(0, Processes).Select(p => Path.Combine(_dir, $"inbox-{p}")).ToList();
        inboxes.ForEach(d => Directory.CreateDirectory(d));

        var bots = new List<BotProcess>();
        try
        {
            for (var p = 0; p < Processes; p++)
            {
                bots.Add(BotProcess.Start(new Dictionary<string, string>
                {
                    ["MailOrderBot__Folder__Path"] = inboxes[p],
                    ["MailOrderBot__Folder__PollInterval"] = "00:00:00.050",
                    ["MailOrderBot__Store__Path"] = database,
                    ["MailOrderBot__Workers"] = "4",
                    ["AppRuntime__ControlPlane__Enabled"] = "false",
                }));
            }
            // Every process is up (and has its empty inbox) before any email exists, so their writes overlap.
            await Eventually.TrueAsync(() => bots.All(b => b.Stdout.Contains("AppRuntime started", StringComparison.Ordinal) || b.HasExited),
                "every bot starts", TimeSpan.FromSeconds(90));
            Assert.All(bots, b => Assert.False(b.HasExited, b.Stdout + b.Stderr));

            // Written elsewhere, then moved in (a rename): a bot never sees half a file.
            var staging = Path.Combine(_dir, "staging");
            Directory.CreateDirectory(staging);
            for (var p = 0; p < Processes; p++)
            {
                for (var n = 0; n < UniquePerInbox; n++)
                    Stage($"p{p}-{n}@multi", 1 + (n % 3), inboxes[p]);
                for (var n = 0; n < SharedEmails; n++)
                    Stage($"shared-{n}@multi", 2, inboxes[p]);
            }

            void Stage(string messageId, int quantity, string inbox)
            {
                var name = messageId.Replace('@', '_') + ".eml";
                File.WriteAllText(Path.Combine(staging, name), Email(messageId, quantity));
                File.Move(Path.Combine(staging, name), Path.Combine(inbox, name));
            }

            const int PerInbox = UniquePerInbox + SharedEmails;
            await Eventually.TrueAsync(() => inboxes.All(i => Count(i, "processed") + Count(i, "failed") == PerInbox) || bots.Any(b => b.HasExited),
                "every email of every inbox is settled", TimeSpan.FromSeconds(120));

            foreach (var bot in bots)
                Assert.True(await bot.StopAsync(TimeSpan.FromSeconds(60)) == 0, bot.Stdout + bot.Stderr);
            var output = string.Concat(bots.Select(b => b.Stdout + b.Stderr));
            Assert.All(inboxes, i => Assert.Equal(0, Count(i, "failed")));
            Assert.All(inboxes, i => Assert.Equal(PerInbox, Count(i, "processed")));
            // A write that met the lock waited for it (busy timeout) instead of failing and being retried by the handler.
            Assert.DoesNotContain("Order store busy", output, StringComparison.Ordinal);
            Assert.DoesNotContain("database is locked", output, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var bot in bots)
                await bot.DisposeAsync();
        }

        // Checked with our own queries on the file the bots shared.
        const long Distinct = Processes * UniquePerInbox + SharedEmails;
        Assert.Equal("wal", Scalar(database, "PRAGMA journal_mode"));
        Assert.Equal(Distinct, Scalar(database, "SELECT count(*) FROM orders"));
        Assert.Equal(Distinct, Scalar(database, "SELECT count(DISTINCT message_id) FROM orders"));
        Assert.Equal(Distinct, Scalar(database, "SELECT count(*) FROM order_lines"));
        Assert.Equal(0L, Scalar(database, "SELECT count(*) FROM (SELECT message_id FROM order_lines GROUP BY message_id HAVING count(*) > 1)"));
        Assert.Equal(0L, Scalar(database, "SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.message_id = o.message_id)"));
        Assert.Equal(Distinct, Scalar(database, "SELECT count(*) FROM orders WHERE status = 'accepted'"));
        var expectedTotal = 2490L * (Processes * Enumerable.Range(0, UniquePerInbox).Sum(n => 1 + (n % 3)) + SharedEmails * 2);
        Assert.Equal(expectedTotal, Scalar(database, "SELECT sum(total_cents) FROM orders"));
    }

    private static int Count(string inbox, string folder) =>
        Directory.Exists(Path.Combine(inbox, folder)) ? Directory.GetFiles(Path.Combine(inbox, folder)).Length : 0;

    private static object Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = command.ExecuteScalar()!;
        return value is long or string ? value : Convert.ToInt64(value, CultureInfo.InvariantCulture);
    }
}
