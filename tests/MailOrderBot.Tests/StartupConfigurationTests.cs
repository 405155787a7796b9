using System.Diagnostics;
using System.Reflection;

namespace MailOrderBot.Tests;

/// <summary>
/// The bot as an operator starts it, with a broken configuration: every mistake, in the application's section and in the
/// platform's, comes back in one report with its key path, exit code 78 and no stack trace.
/// </summary>
public sealed class StartupConfigurationTests
{
    [Fact]
    public async Task Four_bad_bot_values_and_a_bad_platform_key_are_reported_together_with_exit_code_78_and_no_stack_trace()
    {
        var (exitCode, stdout, stderr) = await RunBotAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Workers"] = "-3",
            ["MailOrderBot__Source__Mode"] = "ImapPolling",
            ["MailOrderBot__Imap__Host"] = "",
            ["MailOrderBot__Imap__Port"] = "notaport",
            ["AppRuntime__DrainTimeout"] = "soon",
        });

        Assert.True(exitCode == 78, $"exit code {exitCode}; stderr: {stderr}; stdout: {stdout}");
        Assert.Contains("the configuration is invalid (4 errors)", stderr, StringComparison.Ordinal);
        foreach (var key in new[] { "MailOrderBot:Workers", "MailOrderBot:Source:Mode", "MailOrderBot:Imap:Host", "MailOrderBot:Imap:Port", "AppRuntime:DrainTimeout" })
            Assert.Contains(key, stderr, StringComparison.Ordinal);
        Assert.Contains("MailOrderBot:Imap:Host: is required when MailOrderBot:Source:Mode is ImapPolling", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr + stdout, StringComparison.Ordinal); // no stack frame
        Assert.DoesNotContain("Exception", stderr + stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_typo_in_a_platform_queue_name_is_reported_with_a_suggestion()
    {
        var (exitCode, _, stderr) = await RunBotAsync(new Dictionary<string, string> { ["AppRuntime__Queues__Orders__Backend"] = "InMemory" });

        Assert.True(exitCode == 78, $"exit code {exitCode}; stderr: {stderr}");
        Assert.Contains("AppRuntime:Queues:Orders: there is no queue named 'Orders'; did you mean 'orders'?", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunBotAsync(Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(BotDll());
        start.ArgumentList.Add("--once");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MailOrderBot__", StringComparison.Ordinal) || k.StartsWith("AppRuntime__", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the bot did not exit within 60 s; stdout: {await stdout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string BotDll()
    {
        var configuration = typeof(StartupConfigurationTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(ImapTestServer.FindRepoRoot(), "samples", "MailOrderBot", "bin", configuration, "net10.0", "MailOrderBot.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build it with: dotnet build -c {configuration} samples/MailOrderBot");
        return dll;
    }
}
