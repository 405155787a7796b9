using System.Diagnostics;
using System.Text;

namespace AppRuntime.Redis.Tests;

/// <summary>A tests/AppRuntime.Redis.TestConsumer process consuming a queue until stopped or killed.</summary>
internal sealed class ConsumerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ConsumerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; private init; } = "";

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

    public static ConsumerProcess Start(string prefix, string queue, string name, int concurrency, int delayMs, int visibilityMs, int prefetch = 0,
        string? endpoint = null, int publish = 0)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "AppRuntime.Redis.TestConsumer.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException("The consumer process was not built next to the tests.", dll);
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            dll, "--redis", endpoint ?? RedisTestServer.Endpoint, "--prefix", prefix, "--queue", queue, "--name", name,
            "--concurrency", concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--delay-ms", delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--visibility-ms", visibilityMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--prefetch", prefetch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--publish", publish.ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(a);
        }
        return new ConsumerProcess(Process.Start(start)!) { Name = name };
    }

    /// <summary>SIGKILL on Linux: no finally blocks, no acks, no releases.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    /// <summary>Closes standard input: the consumer stops its loops and exits.</summary>
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
