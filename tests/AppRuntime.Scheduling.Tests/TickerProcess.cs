using System.Diagnostics;
using System.Text;

namespace AppRuntime.Scheduling.Tests;

/// <summary>A tests/AppRuntime.Scheduling.TestApp process (the generated ticker app) started with command-line settings.</summary>
internal sealed class TickerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TickerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public static TickerProcess Start(string redis, IEnumerable<string> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "AppRuntime.Scheduling.TestApp.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException("The ticker app was not built next to the tests.", dll);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var setting in settings)
            start.ArgumentList.Add(setting);
        start.Environment["TICKER_REDIS"] = redis;
        start.Environment["TICKER_STDIN_STOPS"] = "1";
        return new TickerProcess(Process.Start(start)!);
    }

    /// <summary>SIGKILL: no graceful stop, no acks, leases left to expire.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Closes standard input: the app stops gracefully.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
            return;
        _process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill();
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
    }
}
