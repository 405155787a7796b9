using System.Diagnostics;
using System.Reflection;
using AppRuntime.TestSupport;

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

    [Fact]
    public async Task Hash_password_prints_a_pbkdf2_hash_of_the_password_read_from_standard_input()
    {
        var (exitCode, stdout, stderr) = await RunBotAsync([], "--hash-password", "correct horse battery staple\n");

        Assert.True(exitCode == 0, $"exit code {exitCode}; stderr: {stderr}");
        var hash = stdout.Trim();
        Assert.StartsWith("pbkdf2-sha256.600000.", hash, StringComparison.Ordinal);
        Assert.True(AppRuntime.ControlPlaneSecrets.VerifyPassword("correct horse battery staple", hash));
        Assert.False(AppRuntime.ControlPlaneSecrets.VerifyPassword("correct horse battery stapler", hash));
        Assert.DoesNotContain("correct horse", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_password_refuses_a_short_password_and_an_unknown_command_lists_the_commands()
    {
        var (shortExit, _, shortError) = await RunBotAsync([], "--hash-password", "short\n");
        Assert.Equal(1, shortExit);
        Assert.Contains("at least 12 characters", shortError, StringComparison.Ordinal);

        var (unknownExit, _, unknownError) = await RunBotAsync([], "--hash-pasword", "");
        Assert.Equal(64, unknownExit);
        Assert.Contains("--hash-password", unknownError, StringComparison.Ordinal);
        Assert.Contains("--new-api-key", unknownError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task New_api_key_prints_a_key_and_the_hash_that_matches_it()
    {
        var (exitCode, stdout, stderr) = await RunBotAsync([], "--new-api-key", "");

        Assert.True(exitCode == 0, $"exit code {exitCode}; stderr: {stderr}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var key = lines.Single(l => l.StartsWith("key:", StringComparison.Ordinal))[4..].Trim();
        var hash = lines.Single(l => l.StartsWith("hash:", StringComparison.Ordinal))[5..].Trim();
        Assert.StartsWith("arpk_", key, StringComparison.Ordinal);
        Assert.Equal(AppRuntime.ControlPlaneSecrets.HashApiKey(key), hash);
    }

    [Fact]
    public async Task Plain_text_imap_to_a_remote_host_is_refused_at_start_with_exit_code_78_naming_the_key()
    {
        var (exitCode, stdout, stderr) = await BotProcess.RunAsync(new Dictionary<string, string>
        {
            ["MailOrderBot__Source__Mode"] = "ImapPolling",
            ["MailOrderBot__Imap__Host"] = "192.0.2.10",
            ["MailOrderBot__Imap__Port"] = "143",
            ["MailOrderBot__Imap__Security"] = "None",
            ["MailOrderBot__Imap__Username"] = "bot",
            ["MailOrderBot__Imap__Password"] = "plain-secret-1",
        }, TimeSpan.FromSeconds(30), "--once");

        Assert.True(exitCode == 78, $"exit code {exitCode}; stderr: {stderr}; stdout: {stdout}");
        Assert.Contains("MailOrderBot:Imap:Security: is None (plain text) but MailOrderBot:Imap:Host '192.0.2.10' is not a loopback host", stderr, StringComparison.Ordinal);
        Assert.Contains("MailOrderBot:Imap:AllowInsecure=true", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("plain-secret-1", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_text_imap_to_a_remote_host_starts_when_AllowInsecure_is_set()
    {
        await using var bot = BotProcess.Start(new Dictionary<string, string>
        {
            ["MailOrderBot__Source__Mode"] = "ImapPolling",
            ["MailOrderBot__Imap__Host"] = "192.0.2.10",
            ["MailOrderBot__Imap__Security"] = "None",
            ["MailOrderBot__Imap__AllowInsecure"] = "true",
            ["MailOrderBot__Imap__Username"] = "bot",
            ["MailOrderBot__Imap__Password"] = "plain-secret-2",
            ["MailOrderBot__Store__Path"] = Path.Combine(Path.GetTempPath(), $"insecure-{Guid.NewGuid():N}.db"),
            ["AppRuntime__ControlPlane__Enabled"] = "false",
        });

        await Eventually.TrueAsync(() => bot.Stdout.Contains("AppRuntime started", StringComparison.Ordinal) || bot.HasExited,
            "the bot starts", TimeSpan.FromSeconds(30));
        Assert.False(bot.HasExited, bot.Stdout + bot.Stderr);
        Assert.Equal(0, await bot.StopAsync(TimeSpan.FromSeconds(30)));
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunBotAsync(Dictionary<string, string> environment, string argument = "--once", string? input = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(BotDll());
        start.ArgumentList.Add(argument);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MailOrderBot__", StringComparison.Ordinal) || k.StartsWith("AppRuntime__", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
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
