using Microsoft.Extensions.Logging;

namespace AppRuntime.Testing.Internal;

/// <summary>Keeps every log entry of the harness's host, for assertions and for the report of a harness that did not go idle.</summary>
internal sealed class CapturingLoggerProvider(LogLevel minimum, TimeProvider time) : ILoggerProvider
{
    private readonly LogLevel _minimum = minimum;
    private readonly TimeProvider _time = time;
    private readonly object _lock = new();
    private readonly List<HarnessLogEntry> _entries = [];

    public IReadOnlyList<HarnessLogEntry> Snapshot()
    {
        lock (_lock)
            return [.. _entries];
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(HarnessLogEntry entry)
    {
        lock (_lock)
            _entries.Add(entry);
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (IsEnabled(logLevel))
                owner.Add(new HarnessLogEntry(logLevel, category, formatter(state, exception), exception, owner._time.GetUtcNow()));
        }
    }
}
