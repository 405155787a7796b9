using System.Diagnostics;
using System.Net.Sockets;
using AppRuntime.Mail;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using MimeKit;

// Shared by tests/AppRuntime.Mail.Tests and tests/MailOrderBot.Tests (linked into both projects).
namespace AppRuntime.TestSupport.Imap;

/// <summary>The Dovecot started by tests/infra/dovecot.sh, and helpers to prepare and inspect mailboxes on it.</summary>
internal static class ImapTestServer
{
    public const string Password = "secret";
    public const string StartHint = "start it with: bash tests/infra/dovecot.sh start";

    public static string Host => Environment.GetEnvironmentVariable("APPRUNTIME_IMAP_HOST") is { Length: > 0 } h ? h : "127.0.0.1";

    public static int Port => int.TryParse(Environment.GetEnvironmentVariable("APPRUNTIME_IMAP_PORT"), out var p) ? p : 10143;

    /// <summary>Fails with how to start the server when nothing answers the IMAP greeting.</summary>
    public static async Task EnsureRunningAsync(string? host = null, int? port = null)
    {
        host ??= Host;
        port ??= Port;
        try
        {
            using var tcp = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await tcp.ConnectAsync(host, port.Value, timeout.Token);
            using var reader = new StreamReader(tcp.GetStream());
            var greeting = await reader.ReadLineAsync(timeout.Token);
            if (greeting is null || !greeting.StartsWith("* OK", StringComparison.Ordinal))
                Assert.Fail($"The IMAP server at {host}:{port} did not greet with '* OK' (got '{greeting}'); {StartHint}");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            Assert.Fail($"No IMAP server at {host}:{port} ({ex.Message}); {StartHint}");
        }
    }

    public static ImapOptions Options(string folder, string user = "bot", int? port = null) => new()
    {
        Host = Host,
        Port = port ?? Port,
        Security = ImapSecurity.None,
        Username = user,
        Password = Password,
        Folder = folder,
        PollInterval = TimeSpan.FromMilliseconds(200),
        ReconnectBackoff = TimeSpan.FromMilliseconds(100),
        MaxReconnectBackoff = TimeSpan.FromMilliseconds(500),
        CommandTimeout = TimeSpan.FromSeconds(20),
    };

    public static async Task<ImapClient> ConnectAsync(string user = "bot", int? port = null)
    {
        var client = new ImapClient();
        await client.ConnectAsync(Host, port ?? Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, Password);
        return client;
    }

    /// <summary>Creates a fresh folder so that tests running in parallel never see each other's mail.</summary>
    public static async Task<string> CreateFolderAsync(string prefix, string user = "bot", int? port = null)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 60)];
        using var client = await ConnectAsync(user, port);
        var root = client.GetFolder(client.PersonalNamespaces[0]);
        await root.CreateAsync(name, true);
        await client.DisconnectAsync(true);
        return name;
    }

    public static async Task<UniqueId> AppendAsync(string folder, MimeMessage message, MessageFlags flags = MessageFlags.None, string user = "bot", int? port = null)
    {
        using var client = await ConnectAsync(user, port);
        var target = await client.GetFolderAsync(folder);
        var uid = await target.AppendAsync(new AppendRequest(message, flags));
        await client.DisconnectAsync(true);
        return uid ?? throw new InvalidOperationException("The server did not return the appended UID (UIDPLUS).");
    }

    public static async Task<IReadOnlyList<UniqueId>> AppendManyAsync(string folder, IEnumerable<MimeMessage> messages, int? port = null)
    {
        using var client = await ConnectAsync(port: port);
        var target = await client.GetFolderAsync(folder);
        var uids = new List<UniqueId>();
        foreach (var message in messages)
            uids.Add(await target.AppendAsync(message, MessageFlags.None) ?? throw new InvalidOperationException("no APPENDUID"));
        await client.DisconnectAsync(true);
        return uids;
    }

    /// <summary>Appends bytes as they are (the server does not check that they are MIME).</summary>
    public static async Task<UniqueId> AppendRawAsync(string folder, byte[] raw, string user = "bot", int? port = null)
    {
        // MailKit appends MimeMessage objects; send the literal by hand so the bytes reach the server unchanged.
        var command = $"APPEND \"{folder}\" {{{raw.Length}+}}\r\n";
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Host, port ?? Port);
        var stream = tcp.GetStream();
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        await reader.ReadLineAsync();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"a LOGIN {user} {Password}\r\nb {command}"));
        await stream.WriteAsync(raw);
        await stream.WriteAsync("\r\nc LOGOUT\r\n"u8.ToArray());
        string? line;
        string? appendResult = null;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (line.StartsWith("b ", StringComparison.Ordinal))
                appendResult = line;
        }

        Assert.True(appendResult?.StartsWith("b OK", StringComparison.Ordinal) == true, $"APPEND failed: {appendResult}");
        var match = System.Text.RegularExpressions.Regex.Match(appendResult!, @"APPENDUID (\d+) (\d+)");
        return new UniqueId(uint.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            uint.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    public static async Task<IReadOnlyDictionary<uint, IMessageSummary>> FlagsAsync(string folder, string user = "bot", int? port = null)
    {
        using var client = await ConnectAsync(user, port);
        var target = await client.GetFolderAsync(folder);
        await target.OpenAsync(FolderAccess.ReadOnly);
        var summaries = await target.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags);
        await client.DisconnectAsync(true);
        return summaries.ToDictionary(s => s.UniqueId.Id);
    }

    public static MimeMessage Message(string subject, string text, string? messageId = null, string? html = null,
        (string Name, string ContentType, byte[] Content)? attachment = null)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Ann Buyer", "ann@example.com"));
        message.To.Add(new MailboxAddress("Orders", "orders@example.com"));
        message.Subject = subject;
        message.MessageId = messageId ?? MimeKit.Utils.MimeUtils.GenerateMessageId("test.example");
        message.Date = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var body = new BodyBuilder { TextBody = text, HtmlBody = html };
        if (attachment is { } a)
            body.Attachments.Add(a.Name, a.Content, ContentType.Parse(a.ContentType));
        message.Body = body.ToMessageBody();
        return message;
    }

    /// <summary>Runs tests/infra/dovecot.sh with the given command and environment, failing with its output when it fails.</summary>
    public static Task RunScriptAsync(string command, IReadOnlyDictionary<string, string> environment) =>
        RunInfraScriptAsync("dovecot.sh", command, environment);

    /// <summary>
    /// Runs a script of tests/infra (<paramref name="script"/> "redis.sh", <paramref name="arguments"/> "restart --hard") with
    /// <paramref name="environment"/>; fails with its output when it fails or takes more than 2 minutes.
    /// </summary>
    public static async Task RunInfraScriptAsync(string script, string arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(FindRepoRoot(), "tests", "infra", script), .. arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{script} {arguments} failed ({process.ExitCode}): {await stdout}{await stderr}");
    }

    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "infra", "dovecot.sh")))
                return dir.FullName;
        }

        throw new InvalidOperationException("tests/infra/dovecot.sh not found above " + AppContext.BaseDirectory);
    }
}
