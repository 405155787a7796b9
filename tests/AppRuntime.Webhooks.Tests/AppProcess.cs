using System.Globalization;
using AppRuntime.TestSupport;

namespace AppRuntime.Webhooks.Tests;

/// <summary>
/// tests/AppRuntime.Webhooks.TestApp as a child process: the JIT build next to these tests (<c>dotnet AppRuntime.Webhooks.TestApp.dll</c>),
/// or the binary named by <c>APPRUNTIME_WEBHOOKS_APP</c> (tests/aot/e2e.sh points it at the native AOT build).
/// </summary>
internal sealed class AppProcess : IDisposable
{
    private readonly ChildProcess _process;

    private AppProcess(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>The app that runs: the native binary when APPRUNTIME_WEBHOOKS_APP names one, else the JIT build.</summary>
    public static string Describe => Environment.GetEnvironmentVariable("APPRUNTIME_WEBHOOKS_APP") is { Length: > 0 } native ? native : "dotnet AppRuntime.Webhooks.TestApp.dll";

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public bool HasExited => _process.HasExited;

    public string Output => _process.Output;

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort() => ChildProcess.FreePort();

    /// <summary>Starts the app on <paramref name="port"/> with settings as <c>--Key=value</c> arguments and waits until its runtime started.</summary>
    public static async Task<AppProcess> StartAsync(int port, string storePrefix, IDictionary<string, string>? settings = null, long? clock = null)
    {
        var start = ChildProcess.DotnetOrNative(Environment.GetEnvironmentVariable("APPRUNTIME_WEBHOOKS_APP"), "AppRuntime.Webhooks.TestApp.dll");
        var values = new Dictionary<string, string>
        {
            ["AppRuntime:Webhooks:Urls"] = $"http://127.0.0.1:{port}",
            ["WebhookTestApp:Store"] = RedisTestServer.Endpoint,
            ["WebhookTestApp:StorePrefix"] = storePrefix,
            ["AppRuntime:Redis:Configuration"] = RedisTestServer.Endpoint,
            ["AppRuntime:Redis:KeyPrefix"] = storePrefix,
            ["AppRuntime:DrainTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            values[key] = value;
        foreach (var (key, value) in values)
            start.ArgumentList.Add($"--{key}={value}");
        if (clock is { } c)
            start.Environment["APPRUNTIME_TEST_CLOCK"] = c.ToString(CultureInfo.InvariantCulture);
        var process = ChildProcess.Start(start,
            isReady: line => line.Contains("AppRuntime started", StringComparison.Ordinal),
            isFailure: line => line.Contains("cannot start", StringComparison.Ordinal));
        try
        {
            await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), Describe);
        }
        catch
        {
            process.Dispose();
            throw;
        }
        return new AppProcess(process, port);
    }

    /// <summary>SIGKILL: no finally blocks, no acks, no answers to requests under way.</summary>
    public void KillHard() => _process.KillHard();

    public void Dispose() => _process.Dispose();
}
