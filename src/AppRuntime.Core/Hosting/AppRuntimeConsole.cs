using System.Globalization;
using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime;

/// <summary>
/// Runs a host from <c>Program.cs</c> and turns start-up failures into an exit code and a readable message: an invalid
/// configuration prints every error (key path and reason, secret values masked) and no stack trace.
/// <code>
/// return await AppRuntimeConsole.BuildAndRunAsync(() =>
/// {
///     var builder = Host.CreateApplicationBuilder(args);
///     builder.AddAppRuntime().AddMailOrderBotModule();
///     return builder.Build();
/// });
/// </code>
/// </summary>
public static class AppRuntimeConsole
{
    /// <summary>The exit code after a clean stop.</summary>
    public const int SuccessExitCode = 0;

    /// <summary>The exit code when the runtime failed to start for a reason other than configuration.</summary>
    public const int StartFailedExitCode = 1;

    /// <summary>The exit code when the configuration is invalid or a configuration provider cannot be read (sysexits EX_CONFIG).</summary>
    public const int InvalidConfigurationExitCode = 78;

    /// <summary>The command-line switch for <see cref="RunMode.UntilDrained"/>.</summary>
    public const string OnceSwitch = "--once";

    /// <summary>
    /// The exit code when the runtime drained (<see cref="RunMode.UntilDrained"/>) but a drain observer failed, so what should happen
    /// at the end of the run (a summary, an export) did not (sysexits <c>EX_SOFTWARE</c>).
    /// </summary>
    public const int DrainObserverFailedExitCode = 70;

    /// <summary>The exit code of an unknown command (sysexits <c>EX_USAGE</c>).</summary>
    public const int UsageExitCode = 64;

    /// <summary>The configuration key that names the <see cref="IAppRuntimeCommand"/> to run instead of the application.</summary>
    public const string CommandKey = "AppRuntime:Command";

    /// <summary>
    /// Translates the runtime's own command-line switches into configuration the host understands: <c>--once</c> becomes
    /// <c>--AppRuntime:RunMode=UntilDrained</c> (run until every source has drained and everything has settled, then exit); a lone
    /// <c>--&lt;name&gt;</c> (one argument, lowercase letters, digits and '-', such as <c>--hash-password</c>) becomes
    /// <c>--AppRuntime:Command=&lt;name&gt;</c>, the <see cref="IAppRuntimeCommand"/> that <see cref="BuildAndRunAsync(Func{IHost}, CancellationToken)"/>
    /// runs instead of the application. Pass the result to <c>Host.CreateApplicationBuilder</c>.
    /// </summary>
    public static string[] TranslateArgs(IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var list = args.ToList();
        if (list.Count == 1 && IsCommandSwitch(list[0]))
            return [$"--{CommandKey}={list[0][2..]}"];
        return [.. list.Select(a => string.Equals(a, OnceSwitch, StringComparison.OrdinalIgnoreCase)
            ? $"--{AppRuntimeOptions.SectionPath}:{nameof(AppRuntimeOptions.RunMode)}={nameof(RunMode.UntilDrained)}"
            : a)];
    }

    private static bool IsCommandSwitch(string arg) =>
        arg.Length > 2 && arg.StartsWith("--", StringComparison.Ordinal) && !string.Equals(arg, OnceSwitch, StringComparison.OrdinalIgnoreCase)
        && char.IsAsciiLetterLower(arg[2]) && !arg.AsSpan(2).ContainsAnyExcept(s_commandChars);

    private static readonly System.Buffers.SearchValues<char> s_commandChars = System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>Runs <paramref name="host"/> until it stops, writing start-up failures to standard error.</summary>
    /// <returns>The process exit code: <see cref="SuccessExitCode"/>, <see cref="InvalidConfigurationExitCode"/>, <see cref="StartFailedExitCode"/> or <see cref="DrainObserverFailedExitCode"/>.</returns>
    public static Task<int> RunAsync(IHost host, CancellationToken cancellationToken = default) => RunAsync(host, Console.Error, cancellationToken);

    /// <summary>
    /// Runs <paramref name="host"/> until it stops. Before the host starts, the AppRuntime configuration is validated (every
    /// section, queue backends, pool sizes); problems are written to <paramref name="error"/>, one line each, and the host is
    /// not started. The host is disposed in every case.
    /// </summary>
    public static async Task<int> RunAsync(IHost host, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var problems = Preflight(host.Services);
            if (problems is not null)
            {
                await WriteConfigErrorsAsync(error, problems).ConfigureAwait(false);
                return InvalidConfigurationExitCode;
            }
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            if (host.Services.GetService<RuntimeManager>()?.DrainObserverFailure is { } failure)
            {
                await error.WriteLineAsync($"AppRuntime drained, but a drain observer failed: {failure.GetType().Name}: {LogText.Sanitize(failure.Message, keepNewLines: false, 1024)}").ConfigureAwait(false);
                return DrainObserverFailedExitCode;
            }
            return SuccessExitCode;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return await ReportAsync(error, ex, host.Services).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return SuccessExitCode;
        }
        finally
        {
            if (host is IAsyncDisposable asyncDisposable)
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            else
                host.Dispose();
        }
    }

    /// <summary>
    /// Builds the host with <paramref name="build"/> and runs it as <see cref="RunAsync(IHost, TextWriter, CancellationToken)"/>
    /// does. Failures while building (a configuration provider that cannot reach its database, an invalid platform setting) are
    /// reported the same way.
    /// </summary>
    public static Task<int> BuildAndRunAsync(Func<IHost> build, CancellationToken cancellationToken = default) => BuildAndRunAsync(build, Console.Error, cancellationToken);

    /// <summary>As <see cref="BuildAndRunAsync(Func{IHost}, CancellationToken)"/>, writing failures to <paramref name="error"/>.</summary>
    public static async Task<int> BuildAndRunAsync(Func<IHost> build, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(error);
        IHost host;
        try
        {
            host = build();
        }
#pragma warning disable CA1031 // Any failure while composing the host becomes a message and an exit code, never a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return await ReportAsync(error, ex, null).ConfigureAwait(false);
        }
        var command = host.Services.GetService<Microsoft.Extensions.Configuration.IConfiguration>()?[CommandKey];
        if (!string.IsNullOrEmpty(command))
        {
            try
            {
                return await RunCommandAsync(host, command, Console.In, Console.Out, error, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (host is IAsyncDisposable asyncDisposable)
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                else
                    host.Dispose();
            }
        }
        return await RunAsync(host, error, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the registered <see cref="IAppRuntimeCommand"/> named <paramref name="name"/> of a built (not started) host; an unknown
    /// name lists the commands on <paramref name="error"/> and returns <see cref="UsageExitCode"/>.
    /// </summary>
    public static async Task<int> RunCommandAsync(IHost host, string name, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var commands = host.Services.GetServices<IAppRuntimeCommand>().ToList();
        var command = commands.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.Ordinal));
        if (command is null)
        {
            await error.WriteLineAsync($"Unknown command --{name}." + (commands.Count == 0 ? " This application has no commands." : " Commands:")).ConfigureAwait(false);
            foreach (var c in commands.OrderBy(c => c.Name, StringComparer.Ordinal))
                await error.WriteLineAsync($"  --{c.Name}  {c.Summary}").ConfigureAwait(false);
            await error.FlushAsync(cancellationToken).ConfigureAwait(false);
            return UsageExitCode;
        }
        return await command.RunAsync(input, output, error, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every configuration problem the runtime would refuse to start with, or null when there is none (or no AppRuntime).</summary>
    private static List<ConfigError>? Preflight(IServiceProvider services)
    {
        var runtime = services.GetService<RuntimeManager>();
        if (runtime is null)
            return null;
        var errors = runtime.CheckConfiguration(out _);
        return errors.Count == 0 ? null : errors;
    }

    private static async Task<int> ReportAsync(TextWriter error, Exception ex, IServiceProvider? services)
    {
        if (ex is AggregateException { InnerExceptions.Count: 1 } single)
            ex = single.InnerExceptions[0];
        if (ex is ConfigValidationException invalid && invalid.Errors.Count > 0)
        {
            var config = services?.GetService<ConfigurationManager>();
            var errors = config is null
                ? invalid.Errors
                : [.. invalid.Errors.Select(e => ConfigRedaction.Redact(e, config.Configuration, config.SecretKeys))];
            await WriteConfigErrorsAsync(error, errors).ConfigureAwait(false);
            return InvalidConfigurationExitCode;
        }
        var code = ex is ConfigValidationException or ConfigProviderException ? InvalidConfigurationExitCode : StartFailedExitCode;
        // Messages may quote a connection string or a provider's error: every line goes through the one redaction function.
        await error.WriteLineAsync("AppRuntime failed to start: " + ConfigRedaction.RedactValue(ex.Message)).ConfigureAwait(false);
        var shown = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (shown.Contains(inner.Message, StringComparison.Ordinal))
                continue;
            await error.WriteLineAsync("  caused by: " + ConfigRedaction.RedactValue(inner.Message)).ConfigureAwait(false);
            shown = inner.Message;
        }
        await error.FlushAsync().ConfigureAwait(false);
        return code;
    }

    private static async Task WriteConfigErrorsAsync(TextWriter error, IReadOnlyList<ConfigError> errors)
    {
        await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"AppRuntime cannot start: the configuration is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):")).ConfigureAwait(false);
        foreach (var e in errors)
            await error.WriteLineAsync("  - " + e.KeyPath + ": " + e.Message).ConfigureAwait(false);
        await error.FlushAsync().ConfigureAwait(false);
    }
}
