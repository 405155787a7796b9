using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace MailOrderBot.Tests;

/// <summary>
/// The bot as an operator runs it: <c>dotnet MailOrderBot.dll</c> as a child process, configured through environment variables
/// (the host's own way), its standard output and error captured as written.
/// </summary>
internal sealed class BotProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _errorClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BotProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout
    {
        get
        {
            lock (_stdout)
                return _stdout.ToString();
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    /// <summary>Starts the bot with <paramref name="environment"/> (any inherited <c>MailOrderBot__*</c>/<c>AppRuntime__*</c> removed).</summary>
    public static BotProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(Dotnet())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(Dll());
        foreach (var a in args)
            start.ArgumentList.Add(a);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MailOrderBot__", StringComparison.Ordinal) || k.StartsWith("AppRuntime__", StringComparison.Ordinal)
                     || k.StartsWith("Logging__", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;

        var process = new Process { StartInfo = start };
        var bot = new BotProcess(process);
        process.OutputDataReceived += (_, e) => bot.Append(bot._stdout, e.Data, bot._outputClosed);
        process.ErrorDataReceived += (_, e) => bot.Append(bot._stderr, e.Data, bot._errorClosed);
        if (!process.Start())
            throw new InvalidOperationException("dotnet did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return bot;
    }

    /// <summary>Runs the bot to its exit (at most <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] args)
    {
        await using var bot = Start(environment, args);
        var code = await bot.WaitForExitAsync(timeout);
        return (code, bot.Stdout, bot.Stderr);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            await Task.WhenAll(_outputClosed.Task, _errorClosed.Task).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"the bot did not exit within {timeout}; stdout: {Stdout}{Environment.NewLine}stderr: {Stderr}");
        }
        return _process.ExitCode;
    }

    /// <summary>
    /// The process's peak resident set size so far (<c>VmHWM</c> of <c>/proc/&lt;pid&gt;/status</c>: the kernel's high-water mark,
    /// so no peak between two reads is missed), in bytes.
    /// </summary>
    public long PeakRssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal))
                continue;
            var kib = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return kib * 1024;
        }
        throw new InvalidOperationException($"/proc/{_process.Id}/status has no VmHWM line");
    }

    /// <summary>Kills the bot at once (SIGKILL, a crash): no stop, no clean-up, no release of anything it holds.</summary>
    public void KillHard() => _process.Kill(entireProcessTree: false);

    /// <summary>Asks the bot to stop (SIGTERM, what a service manager sends) and waits for it.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill!.WaitForExitAsync();
        }
        return await WaitForExitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Append(StringBuilder target, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }
        lock (target)
            target.Append(line).Append('\n');
    }

    private static string Dotnet() => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    public static string Dll()
    {
        var configuration = typeof(BotProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(ImapTestServer.FindRepoRoot(), "samples", "MailOrderBot", "bin", configuration, "net10.0", "MailOrderBot.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build it with: dotnet build -c {configuration} samples/MailOrderBot");
        return dll;
    }
}
