using AppRuntime.TestSupport;

namespace PaymentNotifier.Tests;

/// <summary>
/// samples/PaymentNotifier as a child process: the JIT build next to these tests (<c>dotnet PaymentNotifier.dll</c>), or the binary
/// named by <c>APPRUNTIME_PAYMENTNOTIFIER_APP</c> (tests/aot/e2e.sh points it at the native AOT build).
/// </summary>
internal static class NotifierProcess
{
    /// <summary>The native binary when APPRUNTIME_PAYMENTNOTIFIER_APP names one, else null (the JIT build).</summary>
    public static string? Native => Environment.GetEnvironmentVariable("APPRUNTIME_PAYMENTNOTIFIER_APP") is { Length: > 0 } native ? Path.GetFullPath(native) : null;

    public static string Describe => Native ?? "dotnet PaymentNotifier.dll";

    public static int FreePort() => ChildProcess.FreePort();

    /// <summary>Starts the application with <paramref name="arguments"/> (and <c>--Key=value</c> settings) without waiting.</summary>
    public static ChildProcess Start(IEnumerable<string> arguments, IDictionary<string, string>? settings = null)
    {
        var start = ChildProcess.DotnetOrNative(Native, "PaymentNotifier.dll");
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            start.ArgumentList.Add($"--{key}={value}");
        return ChildProcess.Start(start,
            isReady: line => line.Contains("AppRuntime started", StringComparison.Ordinal),
            isFailure: line => line.Contains("cannot start", StringComparison.Ordinal));
    }

    /// <summary>Starts the application and waits until its runtime started.</summary>
    public static async Task<ChildProcess> StartAsync(IDictionary<string, string> settings)
    {
        var app = Start([], settings);
        try
        {
            await app.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), Describe);
        }
        catch
        {
            app.Dispose();
            throw;
        }
        return app;
    }
}
