using Microsoft.Extensions.Logging;

namespace AppRuntime.Testing;

/// <summary>One log entry written while the harness ran.</summary>
/// <param name="Level">The level.</param>
/// <param name="Category">The logger's category.</param>
/// <param name="Message">The formatted message.</param>
/// <param name="Exception">The exception logged with it, if any.</param>
/// <param name="At">When, on the harness's clock.</param>
public sealed record HarnessLogEntry(LogLevel Level, string Category, string Message, Exception? Exception, DateTimeOffset At);
