using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace AppRuntime.Mail.Tests;

/// <summary>Writes log lines to the test's output, so a failing integration test shows what the source did.</summary>
internal sealed class TestOutputLogger<T>(ITestOutputHelper output) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}";
        if (Environment.GetEnvironmentVariable("APPRUNTIME_TEST_LOG") is { Length: > 0 } file)
            File.AppendAllText(file, line + Environment.NewLine);
        try
        {
            output.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test already finished.
        }
    }
}
