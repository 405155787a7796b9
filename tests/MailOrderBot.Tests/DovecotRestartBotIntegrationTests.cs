using System.Globalization;
using AppRuntime.TestSupport;
using MailKit;
using MailOrderBot.Module;
using Microsoft.Data.Sqlite;

namespace MailOrderBot.Tests;

/// <summary>
/// Restarts a Dovecot of its own (same script, its own directory and port) while the bot idles, so the shared server that other
/// tests use is never disturbed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DovecotRestartBotIntegrationTests : IDisposable
{
    private const int Port = 10147;
    private readonly string _db = Path.Combine(Path.GetTempPath(), $"bot-restart-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _db, _db + "-wal", _db + "-shm" })
            File.Delete(file);
    }

    private long CountOrders(string messageId)
    {
        if (!File.Exists(_db))
            return 0;
        using var connection = new SqliteConnection($"Data Source={_db};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'orders'";
        if ((long)command.ExecuteScalar()! == 0)
            return 0;
        command.CommandText = "SELECT count(*) FROM orders WHERE message_id = $id";
        command.Parameters.AddWithValue("$id", messageId);
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task The_idling_bot_survives_a_dovecot_restart_and_processes_mail_that_arrived_during_the_outage()
    {
        var dir = Path.Combine(Path.GetTempPath(), "appruntime-dovecot-bot-restart-test");
        var env = new Dictionary<string, string>
        {
            ["APPRUNTIME_DOVECOT_DIR"] = dir,
            ["APPRUNTIME_IMAP_PORT"] = Port.ToString(CultureInfo.InvariantCulture),
        };
        await ImapTestServer.RunScriptAsync("start", env);
        try
        {
            var folder = await ImapTestServer.CreateFolderAsync("botrestart", port: Port);
            var config = BotHost.ImapConfig(folder, SourceMode.ImapIdle, Port);
            config["MailOrderBot:Imap:Folder"] = folder;
            await using var bot = await BotHost.StartAsync(_db, config);
            var before = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Before", "SKU-1001 x 1\n", "before@test"), port: Port);
            await Eventually.TrueAsync(() => CountOrders("before@test") == 1, "the idling bot processes the first email");
            await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder, port: Port))[before.Id].Flags!.Value.HasFlag(MessageFlags.Seen),
                "and marks it read");

            await ImapTestServer.RunScriptAsync("stop", env);
            var message = ImapTestServer.Message("During", "SKU-1002 x 2\n", "during@test");
            var path = Path.Combine(dir, "mail", "bot", "." + folder, "new", $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Guid.NewGuid():N}.test");
            await using (var file = File.Create(path))
                await message.WriteToAsync(file); // delivered as an MTA would while IMAP is down
            await ImapTestServer.RunScriptAsync("start", env);

            await Eventually.TrueAsync(() => CountOrders("during@test") == 1, "after reconnecting, the catch-up search finds the email");
            await Eventually.TrueAsync(async () => (await ImapTestServer.FlagsAsync(folder, port: Port)).Values.All(m => m.Flags!.Value.HasFlag(MessageFlags.Seen)),
                "both emails end read");
            Assert.Equal(1, CountOrders("before@test"));
            Assert.Equal(2, bot.Stats.Accepted); // each order stored once; an email whose \Seen was lost in the outage may be
                                                 // delivered again (at-least-once) and is then counted as a duplicate, not stored twice
        }
        finally
        {
            await ImapTestServer.RunScriptAsync("stop", env);
        }
    }
}
