using System.Diagnostics;
using StackExchange.Redis;

namespace AppRuntime.Redis.Tests;

/// <summary>The redis-server started by tests/infra/redis.sh, and helpers around it.</summary>
internal static class RedisTestServer
{
    public const string StartHint = "start it with: bash tests/infra/redis.sh start";

    public static string Endpoint => Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6390";

    public static Task<ConnectionMultiplexer> ConnectAsync() => ConnectAsync(Endpoint);

    public static async Task<ConnectionMultiplexer> ConnectAsync(string endpoint)
    {
        var options = ConfigurationOptions.Parse(endpoint);
        options.AbortOnConnectFail = true;
        options.ConnectTimeout = 3000;
        options.AllowAdmin = true;
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(options);
        }
        catch (RedisConnectionException ex)
        {
            throw new InvalidOperationException($"Redis is not reachable at {endpoint} (APPRUNTIME_REDIS): {StartHint}", ex);
        }
    }

    /// <summary>A prefix no other test uses.</summary>
    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..10];

    public static async Task DeleteKeysAsync(IConnectionMultiplexer connection, string prefix)
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var db = connection.GetDatabase();
        var batch = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: prefix + ":*", pageSize: 1000))
        {
            batch.Add(key);
            if (batch.Count == 1000)
            {
                await db.KeyDeleteAsync([.. batch]);
                batch.Clear();
            }
        }
        if (batch.Count > 0)
            await db.KeyDeleteAsync([.. batch]);
    }

    /// <summary>The repository root, found from the test assembly's location.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "tests", "infra", "redis.sh")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (tests/infra/redis.sh) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Runs tests/infra/redis.sh with <paramref name="arguments"/> and fails with its output when it fails.</summary>
    public static Task RunScriptAsync(params string[] arguments) => RunScriptAsync(Endpoint, arguments);

    /// <summary>Runs tests/infra/redis.sh for the server of <paramref name="endpoint"/> (its port; its own data directory).</summary>
    public static async Task RunScriptAsync(string endpoint, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot };
        start.ArgumentList.Add(Path.Combine(RepoRoot, "tests", "infra", "redis.sh"));
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        if (endpoint.Split(':') is [_, var port])
            start.Environment["APPRUNTIME_REDIS_PORT"] = port;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(deadline.Token);
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"redis.sh {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stdout} {await stderr}");
    }
}
