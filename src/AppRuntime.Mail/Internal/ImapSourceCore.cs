using Microsoft.Extensions.Logging;

namespace AppRuntime.Mail.Internal;

/// <summary>What both IMAP sources share: settings, in-flight tracking, the search step and the completion connection.</summary>
internal sealed class ImapSourceCore : IAsyncDisposable, IDisposable
{
    public ImapSourceCore(ImapOptions options, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        Options = options;
        Logger = logger;
        InFlight = new InFlightTracker(time, options.InFlightTimeout);
        Completion = new ImapCompletion(options, InFlight, logger);
        Scanner = new ImapScanner(options, InFlight, Completion, logger);
    }

    public ImapOptions Options { get; }

    public ILogger Logger { get; }

    public InFlightTracker InFlight { get; }

    public ImapCompletion Completion { get; }

    public ImapScanner Scanner { get; }

    public TimeSpan BackoffFor(int consecutiveFailures)
    {
        var exponent = Math.Min(Math.Max(consecutiveFailures - 1, 0), 30);
        var ticks = Options.ReconnectBackoff.Ticks * Math.Pow(2, exponent);
        return ticks >= Options.MaxReconnectBackoff.Ticks ? Options.MaxReconnectBackoff : TimeSpan.FromTicks((long)ticks);
    }

    public ValueTask DisposeAsync() => Completion.DisposeAsync();

    public void Dispose() => Completion.Dispose();
}
