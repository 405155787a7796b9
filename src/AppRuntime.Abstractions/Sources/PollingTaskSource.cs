namespace AppRuntime;

/// <summary>Settings of a <see cref="PollingTaskSource{T}"/>.</summary>
public sealed record PollingOptions
{
    /// <summary>Time between polls.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Random spread added to or taken from <see cref="Interval"/>, as a fraction of it (0 to 1), so instances do not poll in lockstep.</summary>
    public double Jitter { get; init; } = 0.1;

    /// <summary>Delay after the first failed poll; doubles per consecutive failure.</summary>
    public TimeSpan ErrorBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest delay after failures.</summary>
    public TimeSpan MaxErrorBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Interval <= TimeSpan.Zero)
            throw new ArgumentException($"PollingOptions.Interval must be positive (was {Interval}).");
        if (Jitter is < 0 or > 1 || double.IsNaN(Jitter))
            throw new ArgumentException($"PollingOptions.Jitter must be between 0 and 1 (was {Jitter}).");
        if (ErrorBackoff <= TimeSpan.Zero || MaxErrorBackoff < ErrorBackoff)
            throw new ArgumentException("PollingOptions.ErrorBackoff must be positive and not above MaxErrorBackoff.");
    }
}

/// <summary>What a polling source has done so far.</summary>
/// <param name="State">idle (waiting for the next poll), polling, backoff, waiting (paused or queue full) or stopped.</param>
/// <param name="LastPollAt">When the last poll started.</param>
/// <param name="LastSuccessAt">When a poll last succeeded.</param>
/// <param name="ConsecutiveErrors">Failed polls since the last success.</param>
/// <param name="LastError">The last failure's message.</param>
/// <param name="TotalPolls">Polls made.</param>
/// <param name="TotalPublished">Tasks published by polls.</param>
/// <param name="NextPollAt">When the next poll is due.</param>
public sealed record PollingStatus(
    string State,
    DateTimeOffset? LastPollAt,
    DateTimeOffset? LastSuccessAt,
    int ConsecutiveErrors,
    string? LastError,
    long TotalPolls,
    long TotalPublished,
    DateTimeOffset? NextPollAt);

/// <summary>
/// Base class for sources that look for work on an interval (seed: polling source). It waits while the source is paused
/// or its queue is above the high watermark, polls, then sleeps for the interval with jitter, or for an exponential
/// backoff after a failure. All time comes from <see cref="ITaskSourceContext{T}.TimeProvider"/>.
/// </summary>
/// <typeparam name="T">The task type.</typeparam>
public abstract class PollingTaskSource<T> : ITaskSource<T>
{
    private readonly object _gate = new();
    private PollingStatus _status = new("created", null, null, 0, null, 0, 0, null);
    private readonly Random _random;

    /// <summary>Creates the source.</summary>
    protected PollingTaskSource(PollingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _random = new Random();
    }

    /// <summary>The polling settings.</summary>
    protected PollingOptions Options { get; }

    /// <summary>The current status.</summary>
    public PollingStatus Status
    {
        get { lock (_gate) return _status; }
    }

    /// <summary>Makes one poll: publishes what it finds through <paramref name="context"/> and returns how many tasks it published. Throw on failure.</summary>
    protected abstract ValueTask<int> PollAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken);

    /// <summary>Called once when <see cref="RunAsync"/> ends, to release connections.</summary>
    protected virtual ValueTask OnStoppedAsync() => ValueTask.CompletedTask;

    /// <summary>Computes the delay before the next poll after a success. Exposed for tests and overriding.</summary>
    protected virtual TimeSpan NextInterval()
    {
        if (Options.Jitter == 0)
            return Options.Interval;
        double factor;
        lock (_random)
            factor = 1 + ((_random.NextDouble() * 2) - 1) * Options.Jitter;
        return TimeSpan.FromTicks((long)(Options.Interval.Ticks * factor));
    }

    /// <summary>The delay after <paramref name="consecutiveErrors"/> failures in a row (1 = first failure).</summary>
    protected TimeSpan BackoffFor(int consecutiveErrors) =>
        Backoff.Exponential(Options.ErrorBackoff, Options.MaxErrorBackoff, consecutiveErrors);

    /// <inheritdoc />
    public async Task RunAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var time = context.TimeProvider;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Update(s => s with { State = "waiting" });
                await context.WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);

                var started = time.GetUtcNow();
                Update(s => s with { State = "polling", LastPollAt = started });
                context.RecordEvent("poll");
                TimeSpan delay;
                Action report;
                try
                {
                    var published = await PollAsync(context, cancellationToken).ConfigureAwait(false);
                    var now = time.GetUtcNow();
                    delay = NextInterval();
                    report = () =>
                    {
                        Update(s => s with
                        {
                            State = "idle",
                            LastSuccessAt = now,
                            ConsecutiveErrors = 0,
                            TotalPolls = s.TotalPolls + 1,
                            TotalPublished = s.TotalPublished + published,
                            NextPollAt = now + delay,
                        });
                        context.ReportHealthy("polling", new Dictionary<string, string>(StringComparer.Ordinal)
                        {
                            ["lastPublished"] = published.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        });
                        context.ReportCaughtUp();
                    };
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
#pragma warning disable CA1031 // A failed poll of any kind must back off and try again, never end the source.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    var errors = Status.ConsecutiveErrors + 1;
                    delay = BackoffFor(errors);
                    var now = time.GetUtcNow();
                    report = () =>
                    {
                        Update(s => s with
                        {
                            State = "backoff",
                            ConsecutiveErrors = errors,
                            LastError = ex.Message,
                            TotalPolls = s.TotalPolls + 1,
                            NextPollAt = now + delay,
                        });
                        context.ReportError("backoff", ex);
                    };
                }

                // The wait is armed before the new state is shown, so whoever sees "idle" or "backoff" (a test moving a fake
                // clock, an operator reading NextPollAt) sees a timer that is already running.
                var wait = Task.Delay(delay, time, cancellationToken);
                report();
                await wait.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            Update(s => s with { State = "stopped", NextPollAt = null });
            await OnStoppedAsync().ConfigureAwait(false);
        }
    }

    private void Update(Func<PollingStatus, PollingStatus> change)
    {
        lock (_gate)
            _status = change(_status);
    }
}
