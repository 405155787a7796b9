using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MimeKit;

// Linked into the test projects that send mail: <Compile Include="..\Shared\SmtpTestServer.cs" />.
namespace AppRuntime.Tests.Shared;

/// <summary>
/// A real SMTP server for one test: tests/infra/smtp-server.py (Debian's python3-aiosmtpd; <c>bash tests/infra/smtp.sh start</c>
/// installs it) on a free port of 127.0.0.1, without authentication or TLS, keeping every message it accepts in <see cref="Directory"/>.
/// </summary>
/// <remarks>
/// The server writes a message's files and its <see cref="Attempts"/> line before it sends the reply to DATA: once the client has
/// the reply, <see cref="Messages"/> and <see cref="Attempts"/> show it. Faults are injected with <see cref="SetReply"/>, re-read
/// by the server on every message. Each test starts its own server and disposes it (kills the process, deletes the directory).
/// </remarks>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private const string StartHint = "install aiosmtpd with: bash tests/infra/smtp.sh start";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StartPollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan WaitPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private int _disposed;

    private SmtpTestServer(Process process, string directory)
    {
        _process = process;
        Directory = directory;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The address the server listens on.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The port the server bound (a free port chosen by the system).</summary>
    public int Port { get; private set; }

    /// <summary>The server's directory: port, reply, attempts.log and messages/ (see tests/infra/smtp-server.py).</summary>
    public string Directory { get; }

    /// <summary>What the server printed so far (standard output and standard error, one line each).</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>
    /// Starts a server on a free port in a fresh temporary directory and waits (up to 20 s) until it listens.
    /// </summary>
    /// <exception cref="InvalidOperationException">python3 could not be started, or the server exited before it listened.</exception>
    /// <exception cref="TimeoutException">The server did not listen within 20 s.</exception>
    public static async Task<SmtpTestServer> StartAsync(CancellationToken ct = default)
    {
        var script = Path.Combine(FindRepositoryRoot(), "tests", "infra", "smtp-server.py");
        var directory = System.IO.Directory.CreateTempSubdirectory("appruntime-smtp-").FullName;
        // Debian's python3 is the one python3-aiosmtpd is installed for (a pyenv python3 may come first on PATH; the script
        // would re-execute itself with /usr/bin/python3 then, this only saves that step).
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var start = new ProcessStartInfo(python, [script, "--dir", directory, "--host", "127.0.0.1", "--port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.Environment["PYTHONIOENCODING"] = "utf-8:backslashreplace";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{python} did not start");
        }
        catch (Win32Exception ex)
        {
            TryDeleteDirectory(directory);
            throw new InvalidOperationException($"Could not start {python} {script}: {ex.Message}; {StartHint}", ex);
        }

        var server = new SmtpTestServer(process, directory);
        try
        {
            server.Port = await server.WaitForPortAsync(ct);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Makes the server answer DATA with <paramref name="line"/> instead of accepting; <c>null</c> (or empty) accepts again.
    /// The server reads the reply file when a message's data has been received, so this applies to every DATA that ends after
    /// the call returns (also in a session that was already open).
    /// </summary>
    /// <param name="line">
    /// The whole reply line, for example <c>"451 4.3.0 Try again later"</c> or <c>"550 5.1.1 &lt;x@example.com&gt;: mailbox
    /// unavailable"</c>. A 2xx line is the reply of an accepted message (the message is stored as usual).
    /// </param>
    /// <param name="onlyRecipient">
    /// When set, only a message whose envelope recipients include this address (compared case-insensitively) gets the reply;
    /// the others are accepted.
    /// </param>
    public void SetReply(string? line, string? onlyRecipient = null)
    {
        var path = Path.Combine(Directory, "reply");
        if (string.IsNullOrEmpty(line))
        {
            File.Delete(path);
            return;
        }

        if (line.Length < 4 || line[0] is not ('2' or '4' or '5') || !char.IsAsciiDigit(line[1]) || !char.IsAsciiDigit(line[2])
            || line[3] != ' ' || line.Contains('\n', StringComparison.Ordinal) || line.Contains('\r', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Not a one-line SMTP reply with a 2xx, 4xx or 5xx code: '{line}'", nameof(line));
        }

        if (onlyRecipient is not null
            && (onlyRecipient.Contains('\n', StringComparison.Ordinal) || onlyRecipient.Contains('\r', StringComparison.Ordinal)))
        {
            throw new ArgumentException("The recipient must be one line.", nameof(onlyRecipient));
        }

        var text = string.IsNullOrEmpty(onlyRecipient) ? line + "\n" : line + "\n" + onlyRecipient + "\n";
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Every message the server accepted so far, in the order it accepted them.</summary>
    public IReadOnlyList<ReceivedMail> Messages()
    {
        var mails = new List<ReceivedMail>();
        foreach (var (sequence, eml) in MessageFiles())
        {
            var raw = File.ReadAllBytes(eml);
            // The server renames the envelope into place before the message: it is complete when the .eml exists.
            using var envelope = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(eml, ".json")));
            var mailFrom = envelope.RootElement.GetProperty("mail_from").GetString() ?? "";
            var recipients = envelope.RootElement.GetProperty("rcpt_tos").EnumerateArray().Select(r => r.GetString() ?? "").ToList();
            using var stream = new MemoryStream(raw, writable: false);
            mails.Add(new ReceivedMail(sequence, mailFrom, recipients, MimeMessage.Load(stream), raw));
        }

        return mails;
    }

    /// <summary>Every DATA the server answered so far (accepted or not), oldest first.</summary>
    public IReadOnlyList<SmtpAttempt> Attempts()
    {
        var attempts = new List<SmtpAttempt>();
        var text = ReadAttemptsLog();
        // Only lines ending with a newline are complete: the last one may be being written.
        var end = text.LastIndexOf('\n');
        if (end < 0)
            return attempts;
        foreach (var line in text[..end].Split('\n'))
        {
            var parts = line.Split(' ', 4);
            if (parts.Length != 4
                || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var unixMs)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            {
                continue;
            }

            var messageId = parts[2] == "-" ? "" : parts[2].TrimStart('<').TrimEnd('>');
            string[] recipients = parts[3] == "-" ? [] : parts[3].Split(',');
            attempts.Add(new SmtpAttempt(DateTimeOffset.FromUnixTimeMilliseconds(unixMs), code, messageId, recipients));
        }

        return attempts;
    }

    /// <summary>Polls (every 100 ms) until the server accepted at least <paramref name="count"/> messages, and returns them all.</summary>
    /// <exception cref="TimeoutException">
    /// Fewer messages after <paramref name="timeout"/>: the message says how many, with attempts.log and the server's output.
    /// </exception>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            // Counting files is cheap; parse only once there are enough.
            var seen = MessageFiles().Count;
            if (seen >= count)
                return Messages();
            if (stopwatch.Elapsed >= timeout)
            {
                throw new TimeoutException(
                    $"The SMTP server on port {Port} accepted {seen} message(s) in {timeout}, expected at least {count}."
                    + DiagnosticText());
            }

            await Task.Delay(WaitPollInterval);
        }
    }

    /// <summary>
    /// Polls (every 100 ms) until <paramref name="condition"/> holds for <see cref="Attempts"/>, and returns those attempts.
    /// </summary>
    /// <exception cref="TimeoutException">The condition did not hold within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<SmtpAttempt>> WaitForAttemptsAsync(Func<IReadOnlyList<SmtpAttempt>, bool> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var attempts = Attempts();
            if (condition(attempts))
                return attempts;
            if (stopwatch.Elapsed >= timeout)
            {
                throw new TimeoutException(
                    $"The condition on the SMTP server's attempts (port {Port}) did not hold within {timeout}; {attempts.Count} attempt(s)."
                    + DiagnosticText());
            }

            await Task.Delay(WaitPollInterval);
        }
    }

    /// <summary>Kills the server (the whole process tree), waits until it exited and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or AggregateException or NotSupportedException)
        {
            // Already gone.
        }

        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                // Keep going: the directory is still worth deleting.
            }
        }

        _process.Dispose();
        TryDeleteDirectory(Directory);
    }

    private async Task<int> WaitForPortAsync(CancellationToken ct)
    {
        var portFile = Path.Combine(Directory, "port");
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            // The server writes port.tmp and renames it: an existing port file is complete.
            if (File.Exists(portFile)
                && int.TryParse(File.ReadAllText(portFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
                && port > 0)
            {
                return port;
            }

            if (_process.HasExited)
            {
                // Let the output readers reach the end of the streams, so that the message has all of it.
                using (var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
                {
                    try
                    {
                        await _process.WaitForExitAsync(drain.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        // Report what was read so far.
                    }
                }

                throw new InvalidOperationException(
                    $"tests/infra/smtp-server.py exited with code {_process.ExitCode} before it listened; {StartHint}. Output:\n{Output}");
            }

            if (stopwatch.Elapsed >= StartTimeout)
            {
                throw new TimeoutException(
                    $"tests/infra/smtp-server.py did not write {portFile} within {StartTimeout.TotalSeconds} s. Output:\n{Output}");
            }

            await Task.Delay(StartPollInterval, ct);
        }
    }

    /// <summary>The accepted messages' files (messages/NNNNNN.eml), ordered by sequence number.</summary>
    private List<(int Sequence, string Path)> MessageFiles()
    {
        var folder = Path.Combine(Directory, "messages");
        var files = new List<(int Sequence, string Path)>();
        if (!System.IO.Directory.Exists(folder))
            return files;
        foreach (var path in System.IO.Directory.EnumerateFiles(folder, "*.eml"))
        {
            // Temporary files start with a dot and never end with .eml; skip anything else that is not NNNNNN.eml too.
            if (int.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                files.Add((sequence, path));
        }

        files.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return files;
    }

    private string ReadAttemptsLog()
    {
        try
        {
            using var stream = new FileStream(
                Path.Combine(Directory, "attempts.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }

    private string DiagnosticText() => $"\nattempts.log:\n{ReadAttemptsLog()}server output:\n{Output}";

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temp directory is harmless.
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AppRuntime.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("AppRuntime.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A message the <see cref="SmtpTestServer"/> accepted.</summary>
/// <param name="Sequence">The order of acceptance, from 1.</param>
/// <param name="MailFrom">The envelope sender (MAIL FROM) without angle brackets; <c>"&lt;&gt;"</c> for the null sender.</param>
/// <param name="Recipients">The envelope recipients (RCPT TO), without angle brackets, in the order given.</param>
/// <param name="Message">The message, parsed from <paramref name="Raw"/>.</param>
/// <param name="Raw">The bytes of the message exactly as received (after DATA's dot-unstuffing), CRLF line ends as sent.</param>
public sealed record ReceivedMail(int Sequence, string MailFrom, IReadOnlyList<string> Recipients, MimeMessage Message, byte[] Raw);

/// <summary>One DATA the <see cref="SmtpTestServer"/> answered, accepted or not.</summary>
/// <param name="At">When the server answered (millisecond precision).</param>
/// <param name="Code">
/// The reply code sent: 250 when accepted, else the code of the injected reply (<see cref="SmtpTestServer.SetReply"/>; a 2xx one
/// accepts), or 451 when the server could not store the message.
/// </param>
/// <param name="MessageId">
/// The message's Message-ID header without angle brackets (as <see cref="MimeMessage.MessageId"/> gives it); empty when it had none.
/// </param>
/// <param name="Recipients">The envelope recipients.</param>
public sealed record SmtpAttempt(DateTimeOffset At, int Code, string MessageId, IReadOnlyList<string> Recipients);
