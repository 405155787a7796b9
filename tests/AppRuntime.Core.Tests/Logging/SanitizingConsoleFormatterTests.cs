using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace AppRuntime.Core.Tests.Logging;

/// <summary>The console formatter AddAppRuntime installs, driven the way the console logger drives it (message, exception, scopes).</summary>
public sealed class SanitizingConsoleFormatterTests
{
    private static (ConsoleFormatter Formatter, ServiceProvider Services) Formatter()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddSimpleConsole(o => o.IncludeScopes = true));
        SanitizedConsoleLogging.Add(services);
        var provider = services.BuildServiceProvider();
        // The post-configuration that routes the console to this formatter (and remembers the simple one as the inner one).
        _ = provider.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        return (provider.GetServices<ConsoleFormatter>().Single(f => f.Name == SanitizingConsoleFormatter.FormatterName), provider);
    }

    [Fact]
    public void Control_characters_in_the_message_the_exception_and_nested_scopes_are_escaped()
    {
        var (formatter, services) = Formatter();
        using var _ = services;
        var scopes = new LoggerExternalScopeProvider();
        using var outer = scopes.Push("mail \u001b[31mred\u0007");
        using var inner = scopes.Push(new Dictionary<string, object?> { ["Subject"] = "line\r\nforged: entry" });
        var entry = new LogEntry<string>(LogLevel.Warning, "Test", new EventId(1), "order from \u001b[2Jclear", new InvalidOperationException("bad\u0007bell"),
            static (state, _) => state);
        using var output = new StringWriter();

        formatter.Write(in entry, scopes, output);

        var text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\u0007', text);
        Assert.Contains(@"order from \x1B[2Jclear", text, StringComparison.Ordinal);
        Assert.Contains(@"mail \x1B[31mred\x07", text, StringComparison.Ordinal);
        Assert.Contains(@"bad\x07bell", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\r\nforged", text, StringComparison.Ordinal);
    }
}
