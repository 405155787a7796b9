using Microsoft.Extensions.Logging;
using AppRuntime.TestSupport;
using MailKit;

namespace AppRuntime.Mail.Tests;

/// <summary>
/// Restarts a Dovecot of its own (same script, its own directory and port) so the shared server that other tests use is never disturbed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DovecotRestartIntegrationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int RestartPort = 10144;

    [Fact]
    public async Task Idle_source_reconnects_after_a_dovecot_restart_and_catches_up_on_mail_delivered_during_the_outage()
    {
        var dir = Path.Combine(Path.GetTempPath(), "appruntime-dovecot-restart-test");
        var env = new Dictionary<string, string>
        {
            ["APPRUNTIME_DOVECOT_DIR"] = dir,
            ["APPRUNTIME_IMAP_PORT"] = RestartPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await ImapTestServer.RunScriptAsync("start", env);
        try
        {
            await ImapTestServer.EnsureRunningAsync(port: RestartPort);
            var folder = await ImapTestServer.CreateFolderAsync("restart", port: RestartPort);
            var before = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Before", "SKU-1001 x 1"), port: RestartPort);

            await using var source = new ImapIdleSource(ImapTestServer.Options(folder, port: RestartPort) with { PollInterval = TimeSpan.FromHours(1) },
                new TestOutputLogger<ImapIdleSource>(output));
            await using var running = new RunningSource(source, new CollectingContext());
            await Eventually.TrueAsync(() => source.State == "idle" && running.Context.Published.Count == 1, "the source idles after catching up");
            await source.OnSucceededAsync(running.Context.Published[0], CancellationToken.None); // opens the completion connection

            Trace($"stopping");
            await ImapTestServer.RunScriptAsync("stop", env);
            Trace($"stopped");
            await Eventually.TrueAsync(() => source.State is "reconnecting" or "connecting", "the source notices the outage");
            DeliverToMaildir(Path.Combine(dir, "mail", "bot", "." + folder), "During", "SKU-1002 x 4");
            await ImapTestServer.RunScriptAsync("start", env);
            Trace($"started");

            await Eventually.TrueAsync(() => running.Context.Published.Count == 2, "the catch-up search after reconnecting finds the mail delivered during the outage");
            var during = running.Context.Published[1];
            Assert.Equal("During", during.Payload.Subject);
            Assert.True(source.Reconnects >= 1);
            Assert.Contains(running.Context.Reports, r => r.State == "reconnecting" && r.Error is not null);
            await Eventually.TrueAsync(() => source.State == "idle", "the source idles again");

            Trace($"completing");
            await source.OnSucceededAsync(during, CancellationToken.None); // the completion connection reconnects too
            var flags = await ImapTestServer.FlagsAsync(folder, port: RestartPort);
            Assert.True(flags[before.Id].Flags!.Value.HasFlag(MessageFlags.Seen));
            Assert.True(flags[during.Payload.Uid].Flags!.Value.HasFlag(MessageFlags.Seen));
        }
        finally
        {
            await ImapTestServer.RunScriptAsync("stop", env);
        }
    }

    private void Trace(string message) =>
        new TestOutputLogger<DovecotRestartIntegrationTests>(output).LogInformation("{Message}", message);

    /// <summary>Delivers a message the way an MTA does while IMAP is down: a file in the maildir's new/ folder.</summary>
    private static void DeliverToMaildir(string maildir, string subject, string text)
    {
        var message = ImapTestServer.Message(subject, text);
        var path = Path.Combine(maildir, "new", $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Guid.NewGuid():N}.test");
        using (var file = File.Create(path))
            message.WriteTo(file);
        // Owned by the test user and world-readable (umask 022); Dovecot (running as nobody) moves it from new/ to cur/,
        // which the maildir's directory permissions allow.
    }
}
