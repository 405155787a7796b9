using System.Diagnostics;

namespace AppRuntime.Redis.Tests;

/// <summary>Runs <c>redis-cli</c> against the test server (raw output), as an operator would, for tests that plant or read keys themselves.</summary>
internal static class RedisCli
{
    /// <summary>A <c>redis-cli</c> against the test server with <paramref name="args"/>, its output redirected.</summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var (host, port) = RedisTestServer.Endpoint.Split(':') is [var h, var p] ? (h, p) : ("127.0.0.1", "6390");
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-h", host, "-p", port, .. args])
            start.ArgumentList.Add(a);
        return start;
    }

    public static async Task<string> RunAsync(params string[] args)
    {
        var start = StartInfo(["--raw", .. args]);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"redis-cli {string.Join(' ', args)} failed: {await stderr}");
        var output = await stdout;
        Assert.False(output.StartsWith("ERR", StringComparison.Ordinal) || output.StartsWith("WRONGTYPE", StringComparison.Ordinal), $"redis-cli {string.Join(' ', args)}: {output}");
        return output;
    }

    public static async Task<string[]> LinesAsync(params string[] args) =>
        (await RunAsync(args)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
