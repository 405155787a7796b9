using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PaymentNotifier.Tests;

/// <summary>
/// samples/PaymentNotifier as a child process: the JIT build next to these tests (<c>dotnet PaymentNotifier.dll</c>), or the binary
/// named by <c>APPRUNTIME_PAYMENTNOTIFIER_APP</c> (tests/aot/e2e.sh points it at the native AOT build).
/// </summary>
internal sealed class NotifierProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NotifierProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The native binary when APPRUNTIME_PAYMENTNOTIFIER_APP names one, else null (the JIT build).</summary>
    public static string? Native => Environment.GetEnvironmentVariable("APPRUNTIME_PAYMENTNOTIFIER_APP") is { Length: > 0 } native ? Path.GetFullPath(native) : null;

    /// <summary>The directory the application runs from (its appsettings.json, demo-events.json and demo-run/).</summary>
    public static string AppDirectory => Native is { } native ? Path.GetDirectoryName(native)! : AppContext.BaseDirectory;

    public static string Describe => Native ?? "dotnet PaymentNotifier.dll";

    public int Pid => _process.Id;

    /// <summary>The exit code, once <see cref="WaitForExitAsync"/> or <see cref="StopAsync"/> saw the process end.</summary>
    public int? ExitCode { get; private set; }

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

    /// <summary>Starts the application with <paramref name="arguments"/> (and <c>--Key=value</c> settings) without waiting.</summary>
    public static NotifierProcess Start(IEnumerable<string> arguments, IDictionary<string, string>? settings = null)
    {
        ProcessStartInfo start;
        if (Native is { } native)
        {
            start = new ProcessStartInfo(native) { WorkingDirectory = AppDirectory };
        }
        else
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "PaymentNotifier.dll");
            if (!File.Exists(dll))
                throw new FileNotFoundException("The Payment Notifier was not built next to the tests.", dll);
            start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet") { WorkingDirectory = AppContext.BaseDirectory };
            start.ArgumentList.Add(dll);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            start.ArgumentList.Add($"--{key}={value}");
        return new NotifierProcess(Process.Start(start)!);
    }

    /// <summary>Starts the application and waits until its runtime started.</summary>
    public static async Task<NotifierProcess> StartAsync(IDictionary<string, string> settings)
    {
        var app = Start([], settings);
        try
        {
            await app._started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            var output = app.Output;
            app.Dispose();
            throw new InvalidOperationException($"{Describe} did not start: {ex.Message}\n{output}", ex);
        }
        return app;
    }

    /// <summary>Waits for the process to exit; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Describe} did not exit within {timeout.TotalSeconds} s:\n{Output}");
        }
        _process.WaitForExit(); // the output is read to its end
        ExitCode = _process.ExitCode;
        return _process.ExitCode;
    }

    /// <summary>SIGTERM (a graceful stop: the runtime drains), then waits for the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill", $"-TERM {_process.Id.ToString(CultureInfo.InvariantCulture)}") { UseShellExecute = false })!)
            await kill.WaitForExitAsync();
        return await WaitForExitAsync(timeout);
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
