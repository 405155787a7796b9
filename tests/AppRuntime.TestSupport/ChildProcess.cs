using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AppRuntime.TestSupport;

/// <summary>
/// An application under test as a child process, driven as an operator would: its output kept (for failure messages and
/// readiness), a graceful stop by signal, SIGKILL, and its exit code. Tests start their apps through this one type.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Func<string, bool>? _isReady;
    private readonly Func<string, bool>? _isFailure;

    private ChildProcess(ProcessStartInfo start, Func<string, bool>? isReady, Func<string, bool>? isFailure)
    {
        _isReady = isReady;
        _isFailure = isFailure;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        _process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>True once the process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="WaitForExitAsync"/> saw the process end.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>Everything it wrote to standard output and standard error so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>
    /// Starts <paramref name="start"/> (its output redirected here). <paramref name="isReady"/> and <paramref name="isFailure"/> look at
    /// each output line for <see cref="WaitUntilReadyAsync"/>.
    /// </summary>
    public static ChildProcess Start(ProcessStartInfo start, Func<string, bool>? isReady = null, Func<string, bool>? isFailure = null)
    {
        ArgumentNullException.ThrowIfNull(start);
        return new ChildProcess(start, isReady, isFailure);
    }

    /// <summary>
    /// How to run an app built next to the tests: the native binary <paramref name="native"/> when given (from its own directory),
    /// else <c>dotnet &lt;dll&gt;</c> from the tests' directory.
    /// </summary>
    public static ProcessStartInfo DotnetOrNative(string? native, string dll)
    {
        if (native is { Length: > 0 })
        {
            var path = Path.GetFullPath(native);
            return new ProcessStartInfo(path) { WorkingDirectory = Path.GetDirectoryName(path)! };
        }
        var file = Path.Combine(AppContext.BaseDirectory, dll);
        if (!File.Exists(file))
            throw new FileNotFoundException($"{dll} was not built next to the tests.", file);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet") { WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add(file);
        return start;
    }

    /// <summary>A loopback port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits until an output line made the process ready; fails with the output when a line says it failed, or at the deadline.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout, string what)
    {
        try
        {
            await _ready.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{what} was not ready within {timeout.TotalSeconds} s:\n{Output}");
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{what} did not start: {ex.Message}\n{Output}", ex);
        }
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
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within {timeout.TotalSeconds} s:\n{Output}");
        }
        _process.WaitForExit(); // the output is read to its end
        ExitCode = _process.ExitCode;
        return ExitCode.Value;
    }

    /// <summary>Sends <paramref name="signal"/> (<c>TERM</c>: a graceful stop) and waits for the exit code.</summary>
    public async Task<int> SignalAsync(string signal, TimeSpan timeout)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {_process.Id.ToString(CultureInfo.InvariantCulture)}") { UseShellExecute = false })!)
            await kill.WaitForExitAsync();
        return await WaitForExitAsync(timeout);
    }

    /// <summary>SIGKILL: no finally blocks, no acks, no answers to requests under way.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <inheritdoc />
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
        if (_isReady?.Invoke(line) == true)
            _ready.TrySetResult();
        else if (_isFailure?.Invoke(line) == true)
            _ready.TrySetException(new InvalidOperationException(line));
    }
}
