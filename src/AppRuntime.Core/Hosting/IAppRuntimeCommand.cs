namespace AppRuntime;

/// <summary>
/// A one-shot command of an AppRuntime application, run instead of the application by <see cref="AppRuntimeConsole"/> when the
/// command line is <c>&lt;app&gt; --&lt;name&gt;</c> (for example <c>--hash-password</c>, which the control plane registers). Register
/// implementations as <see cref="IAppRuntimeCommand"/> singletons; the host is built (configuration is available) but never started.
/// </summary>
public interface IAppRuntimeCommand
{
    /// <summary>The command's name: <c>--&lt;name&gt;</c> runs it (lowercase letters, digits and '-').</summary>
    string Name { get; }

    /// <summary>One line on what the command does, listed when an unknown command is asked for.</summary>
    string Summary { get; }

    /// <summary>Runs the command; returns the process exit code.</summary>
    Task<int> RunAsync(TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken);
}
