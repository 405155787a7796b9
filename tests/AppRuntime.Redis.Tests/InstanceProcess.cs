using System.Diagnostics;
using System.Text;

namespace AppRuntime.Redis.Tests;

/// <summary>A tests/AppRuntime.Redis.TestApp process (the generated slow-handler app) started with command-line settings.</summary>
internal sealed class InstanceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private InstanceProcess(Process process)
    {
        _process = process;
        Id = process.Id;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public static InstanceProcess Start(IEnumerable<string> settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "AppRuntime.Redis.TestApp.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException("The test app was not built next to the tests.", dll);
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
        start.Environment["SLOW_REDIS"] = RedisTestServer.Endpoint;
        return new InstanceProcess(Process.Start(start)!);
    }

    /// <summary>SIGKILL: no graceful stop, no acks, no releases; its leases stay in Redis until they expire.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Closes standard input: the app stops gracefully (the host's StopApplication, as on SIGTERM).</summary>
    public void RequestStop() => _process.StandardInput.Close();

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

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
