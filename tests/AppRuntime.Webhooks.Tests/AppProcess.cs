using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AppRuntime.Webhooks.Tests;

/// <summary>
/// tests/AppRuntime.Webhooks.TestApp as a child process: the JIT build next to these tests (<c>dotnet AppRuntime.Webhooks.TestApp.dll</c>),
/// or the binary named by <c>APPRUNTIME_WEBHOOKS_APP</c> (tests/aot/e2e.sh points it at the native AOT build).
/// </summary>
internal sealed class AppProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AppProcess(Process process, int port)
    {
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The app that runs: the native binary when APPRUNTIME_WEBHOOKS_APP names one, else the JIT build.</summary>
    public static string Describe => Environment.GetEnvironmentVariable("APPRUNTIME_WEBHOOKS_APP") is { Length: > 0 } native ? native : "dotnet AppRuntime.Webhooks.TestApp.dll";

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts the app on <paramref name="port"/> with settings as <c>--Key=value</c> arguments and waits until its runtime started.</summary>
    public static async Task<AppProcess> StartAsync(int port, string storePrefix, IDictionary<string, string>? settings = null, long? clock = null)
    {
        var native = Environment.GetEnvironmentVariable("APPRUNTIME_WEBHOOKS_APP");
        ProcessStartInfo start;
        if (native is { Length: > 0 })
        {
            start = new ProcessStartInfo(Path.GetFullPath(native)) { WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(native))! };
        }
        else
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "AppRuntime.Webhooks.TestApp.dll");
            if (!File.Exists(dll))
                throw new FileNotFoundException("The webhook test app was not built next to the tests.", dll);
            start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet") { WorkingDirectory = AppContext.BaseDirectory };
            start.ArgumentList.Add(dll);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
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
        var app = new AppProcess(Process.Start(start)!, port);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await app._started.Task.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            var output = app.Output;
            app.Dispose();
            throw new TimeoutException($"{Describe} did not start within 60 s:\n{output}");
        }
        return app;
    }

    /// <summary>SIGKILL: no finally blocks, no acks, no answers to requests under way.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
        if (line.Contains("AppRuntime started", StringComparison.Ordinal))
            _started.TrySetResult();
        else if (line.Contains("cannot start", StringComparison.Ordinal))
            _started.TrySetException(new InvalidOperationException(line));
    }
}
