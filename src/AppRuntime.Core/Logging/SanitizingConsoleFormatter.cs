using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace AppRuntime.Internal;

/// <summary>The longest console log message (<see cref="AppRuntimeOptions.MaxLogMessageLength"/>), set when the runtime starts.</summary>
internal sealed class LogOutputLimits
{
    private volatile int _maxMessageLength = AppRuntimeOptions.DefaultMaxLogMessageLength;

    public int MaxMessageLength
    {
        get => _maxMessageLength;
        set => _maxMessageLength = value;
    }
}

/// <summary>Which formatter the console would have used: the one <see cref="SanitizingConsoleFormatter"/> wraps.</summary>
internal sealed class ConsoleFormatterRoute
{
    private volatile string _inner = ConsoleFormatterNames.Simple;

    public string Inner
    {
        get => _inner;
        set => _inner = value;
    }
}

/// <summary>
/// The console formatter AddAppRuntime registers and makes current (<c>Logging:Console:FormatterName</c> is taken over): it wraps the
/// formatter the application chose (<c>simple</c> by default, <c>systemd</c>, <c>json</c> or its own) and hands it a log entry whose
/// message, exception text and scopes are sanitised. Control characters are escaped (an email subject with ANSI sequences or a BEL
/// reaches the terminal as <c>\x1B[31m</c>, <c>\x07</c>; a CR or LF cannot forge a log line) and every message and exception text
/// is cut at <see cref="AppRuntimeOptions.MaxLogMessageLength"/>. The JSON formatter escapes by itself; it only gets the cut.
/// Values from outside are therefore safe in the console log whatever call site logs them; no call site escapes on its own.
/// </summary>
internal sealed class SanitizingConsoleFormatter(IServiceProvider services, ConsoleFormatterRoute route, LogOutputLimits limits)
    : ConsoleFormatter(FormatterName)
{
    /// <summary>The formatter's name, which AddAppRuntime makes <c>ConsoleLoggerOptions.FormatterName</c>.</summary>
    public const string FormatterName = "appruntime";

    private ConsoleFormatter? _inner;

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var inner = Inner();
        var max = limits.MaxMessageLength;
        var escape = !string.Equals(inner.Name, ConsoleFormatterNames.Json, StringComparison.OrdinalIgnoreCase);
        var format = logEntry.Formatter;
        var original = logEntry.Exception;
        var exception = original is null ? null : new SanitizedException(original, escape, max);
        var sanitized = new LogEntry<TState>(logEntry.LogLevel, logEntry.Category, logEntry.EventId, logEntry.State, exception,
            (state, _) => Sanitize(format(state, original), escape, keepNewLines: false, max));
        inner.Write(in sanitized, scopeProvider is null || !escape ? scopeProvider : new SanitizingScopeProvider(scopeProvider, max), textWriter);
    }

    private static string Sanitize(string? text, bool escape, bool keepNewLines, int max) =>
        text is null ? "" : escape ? LogText.Sanitize(text, keepNewLines, max) : text.Length <= max ? text : TextLimits.Truncate(text, max);

    private ConsoleFormatter Inner()
    {
        var name = route.Inner;
        var inner = _inner;
        if (inner is not null && string.Equals(inner.Name, name, StringComparison.OrdinalIgnoreCase))
            return inner;
        ConsoleFormatter? simple = null;
        foreach (var formatter in services.GetServices<ConsoleFormatter>())
        {
            if (ReferenceEquals(formatter, this))
                continue;
            if (string.Equals(formatter.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                inner = formatter;
                break;
            }
            if (string.Equals(formatter.Name, ConsoleFormatterNames.Simple, StringComparison.OrdinalIgnoreCase))
                simple = formatter;
        }
        inner ??= simple ?? throw new InvalidOperationException($"No console formatter named '{name}' or '{ConsoleFormatterNames.Simple}' is registered.");
        _inner = inner;
        return inner;
    }

    /// <summary>An exception whose text (all a console formatter writes of it) is sanitised; new lines stay for the stack trace.</summary>
#pragma warning disable CA1032, CA1064 // Never thrown: it only carries an exception's sanitised text to the wrapped formatter.
    private sealed class SanitizedException(Exception inner, bool escape, int max) : Exception(Sanitize(inner.Message, escape, keepNewLines: false, max))
#pragma warning restore CA1032, CA1064
    {
        public override string ToString() => Sanitize(inner.ToString(), escape, keepNewLines: true, max);
    }

    /// <summary>
    /// Shows each scope through its sanitised text. The inner provider is called with one closed state type (<see cref="ScopeVisit"/>),
    /// never with a state built from <c>TState</c>: a generic state that wraps <c>TState</c> makes an endless chain of generic
    /// instantiations for the native AOT compiler (the inner provider could be this type again), which it cuts off with methods that
    /// always throw.
    /// </summary>
    private sealed class SanitizingScopeProvider(IExternalScopeProvider inner, int max) : IExternalScopeProvider
    {
        public void ForEachScope<TState>(Action<object?, TState> callback, TState state) =>
            inner.ForEachScope(static (scope, visit) => visit.Visit(scope), (ScopeVisit)new ScopeVisit<TState>(callback, state, max));

        public IDisposable Push(object? state) => inner.Push(state);
    }

    private abstract class ScopeVisit
    {
        public abstract void Visit(object? scope);
    }

    private sealed class ScopeVisit<TState>(Action<object?, TState> callback, TState state, int max) : ScopeVisit
    {
        public override void Visit(object? scope) => callback(scope is null ? null : new SanitizedScope(scope, max), state);
    }

    private sealed class SanitizedScope(object scope, int max)
    {
        public override string ToString() => Sanitize(scope.ToString(), escape: true, keepNewLines: false, max);
    }
}

/// <summary>Registers <see cref="SanitizingConsoleFormatter"/> and makes it the console's formatter.</summary>
internal static class SanitizedConsoleLogging
{
    public static void Add(IServiceCollection services)
    {
        var route = new ConsoleFormatterRoute();
        var limits = new LogOutputLimits();
        services.AddSingleton(limits);
        services.AddSingleton(route);
        services.Add(ServiceDescriptor.Singleton<ConsoleFormatter, SanitizingConsoleFormatter>(sp => new SanitizingConsoleFormatter(sp, route, limits)));
        // Runs after every Configure (and after the host's binding of Logging:Console): remember the chosen formatter, take its place.
        services.AddSingleton<Microsoft.Extensions.Options.IPostConfigureOptions<ConsoleLoggerOptions>>(
            new Microsoft.Extensions.Options.PostConfigureOptions<ConsoleLoggerOptions>(Microsoft.Extensions.Options.Options.DefaultName, options =>
            {
                if (!string.Equals(options.FormatterName, SanitizingConsoleFormatter.FormatterName, StringComparison.OrdinalIgnoreCase))
                    route.Inner = options.FormatterName ?? ConsoleFormatterNames.Simple;
                options.FormatterName = SanitizingConsoleFormatter.FormatterName;
            }));
    }
}
