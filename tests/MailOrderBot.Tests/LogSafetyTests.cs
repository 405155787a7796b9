using System.Text;
using Microsoft.Data.Sqlite;

namespace MailOrderBot.Tests;

/// <summary>
/// Values from emails in the bot's console log and store (issue #19, finding 6): the bot runs as a process on an inbox of hostile
/// emails, and the test reads what it wrote to its console and what its SQLite file holds.
/// </summary>
public sealed class LogSafetyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"logsafety-{Guid.NewGuid():N}");

    public LogSafetyTests() => Directory.CreateDirectory(Path.Combine(_dir, "inbox"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Control_characters_from_an_email_are_escaped_in_the_console_log_and_a_huge_rejection_reason_is_capped_in_log_and_store()
    {
        // An accepted order whose customer name carries ANSI sequences (clear screen, red) and a BEL.
        WriteEmail("01-ansi.eml", "<ansi-1@test>", "Name: \u001b[2J\u001b[31mEVIL\u0007 CUSTOMER\nSKU-1001 x 1\n");
        // An accepted order without a Name: line, so the customer is the sender, whose encoded display name holds CR LF and a
        // would-be log line.
        WriteEmail("03-crlf.eml", "<crlf-1@test>", "SKU-1002 x 2\n", from: "=?utf-8?q?Eve=0D=0Ainfo=3A_MailOrderBot=5B1=5D_forged_line?= <eve@example.com>");
        // A rejected order with 20,000 unknown SKUs: a reason of about 400,000 characters before the cap.
        var lines = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
            lines.Append("ZZ-").Append(i).Append(" x 1\n");
        WriteEmail("02-huge.eml", "<huge-1@test>", lines.ToString());
        var db = Path.Combine(_dir, "orders.db");

        var (code, stdout, stderr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Folder__Path"] = Path.Combine(_dir, "inbox"),
            ["MailOrderBot__Store__Path"] = db,
        }, TimeSpan.FromSeconds(120), "--once");

        var output = stdout + stderr;
        Assert.True(code == 0, $"exit code {code}: {output}");
        Assert.Contains("this run: 2 accepted, 1 rejected", output, StringComparison.Ordinal);
        // No raw control character reached the console; the escaped text did.
        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain('\u0007', output);
        Assert.DoesNotContain('\r', output);
        Assert.Contains(@"\x1B[2J\x1B[31mEVIL\x07 CUSTOMER", output, StringComparison.Ordinal);
        Assert.Contains(@"Eve\r\ninfo: MailOrderBot[1] forged line", output, StringComparison.Ordinal);
        Assert.DoesNotContain(output.Split('\n'), line => line.StartsWith("info: MailOrderBot[1] forged line", StringComparison.Ordinal));
        // Every log line is bounded (the reason is capped at 1 KiB, with the line's own text around it).
        var longest = output.Split('\n').MaxBy(l => l.Length)!;
        Assert.True(longest.Length < 2048, $"the longest console line has {longest.Length} characters: {longest[..Math.Min(300, longest.Length)]}…");
        Assert.Contains("characters in all]", output, StringComparison.Ordinal);

        await using var connection = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT reason FROM orders WHERE message_id = 'huge-1@test'";
        var reason = (string)(await command.ExecuteScalarAsync())!;
        Assert.True(reason.Length <= 1024, $"the stored reason has {reason.Length} characters");
        Assert.StartsWith("unknown SKU ZZ-0; unknown SKU ZZ-1;", reason, StringComparison.Ordinal);
        Assert.Matches(@"… \[truncated: \d+ characters in all\]$", reason);
    }

    private void WriteEmail(string name, string messageId, string body, string from = "Mallory <mallory@example.com>")
    {
        var text = $"From: {from}\r\nTo: orders@shop.example\r\nSubject: Order\r\n" +
                   $"Date: Mon, 30 Nov 2026 09:00:00 +0000\r\nMessage-ID: {messageId}\r\nMIME-Version: 1.0\r\n" +
                   "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.Replace("\n", "\r\n", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(_dir, "inbox", name), text, new UTF8Encoding(false));
    }
}
