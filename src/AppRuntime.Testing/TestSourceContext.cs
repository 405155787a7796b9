using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Testing;

/// <summary>
/// Runs one <see cref="ITaskSource{T}"/> on its own, for a unit test: what the runtime gives a source, recording what it publishes
/// and reports. Its clock is a <see cref="FakeTimeProvider"/> unless another is given (a source whose interval should pass in real
/// time takes <see cref="TimeProvider.System"/>).
/// </summary>
/// <typeparam name="T">The task type.</typeparam>
public sealed class TestSourceContext<T> : ITaskSourceContext<T>
{
    private readonly ConcurrentQueue<TaskEnvelope<T>> _published = new();
    private readonly Dictionary<string, string> _checkpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string State, Exception? Error)> _reports = new();
    private readonly ConcurrentQueue<string> _events = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _details = new(StringComparer.Ordinal);
    private volatile bool _paused;
    private int _caughtUp;

    /// <summary>Creates a context.</summary>
    /// <param name="timeProvider">The source's clock; a <see cref="FakeTimeProvider"/> when null.</param>
    /// <param name="sourceName">The source name.</param>
    /// <param name="queueName">The queue it publishes to.</param>
    public TestSourceContext(TimeProvider? timeProvider = null, string sourceName = "test-source", string queueName = "test")
    {
        TimeProvider = timeProvider ?? new FakeTimeProvider();
        SourceName = sourceName;
        QueueName = queueName;
    }

    /// <inheritdoc />
    public string SourceName { get; }

    /// <inheritdoc />
    public string QueueName { get; }

    /// <inheritdoc />
    public TimeProvider TimeProvider { get; }

    /// <summary>The fake clock, when the context has one (else null).</summary>
    public FakeTimeProvider? FakeTime => TimeProvider as FakeTimeProvider;

    /// <summary>True while paused: <see cref="WaitUntilReadyAsync"/> waits.</summary>
    public bool IsPaused
    {
        get => _paused;
        set => _paused = value;
    }

    /// <summary>What the source published, in order.</summary>
    public IReadOnlyList<TaskEnvelope<T>> Published => [.. _published];

    /// <summary>The payloads the source published, in order.</summary>
    public IReadOnlyList<T> PublishedTasks => [.. _published.Select(e => e.Payload)];

    /// <summary>How often the source reported that it had looked at all its input.</summary>
    public int CaughtUpCount => Volatile.Read(ref _caughtUp);

    /// <summary>The state of the last health report (<c>ReportHealthy</c> or <c>ReportError</c>).</summary>
    public string? State => _reports.LastOrDefault().State;

    /// <summary>The errors the source reported.</summary>
    public IReadOnlyList<Exception> Errors => [.. _reports.Where(r => r.Error is not null).Select(r => r.Error!)];

    /// <summary>The details reported so far (later reports update earlier keys).</summary>
    public IReadOnlyDictionary<string, string> Details
    {
        get
        {
            lock (_details)
                return new Dictionary<string, string>(_details, StringComparer.Ordinal);
        }
    }

    /// <summary>The events the source counted (<c>RecordEvent</c>).</summary>
    public IReadOnlyList<string> Events => [.. _events];

    /// <summary>Starts <paramref name="source"/>; dispose the returned run (or call its <c>StopAsync</c>) to cancel it and wait for it to end.</summary>
    public TestSourceRun Run(ITaskSource<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new TestSourceRun(token => source.RunAsync(this, token));
    }

    /// <summary>Waits (real time) until the source reported caught up <paramref name="times"/> times in all.</summary>
    public Task WaitUntilCaughtUpAsync(int times = 1, TimeSpan? timeout = null) =>
        WaitAsync(() => CaughtUpCount >= times, $"the source reported caught up {CaughtUpCount} of {times} time(s)", timeout);

    /// <summary>Waits (real time) until the source published at least <paramref name="count"/> tasks.</summary>
    public Task WaitUntilPublishedAsync(int count, TimeSpan? timeout = null) =>
        WaitAsync(() => _published.Count >= count, $"the source published {_published.Count} of {count} task(s)", timeout);

    /// <inheritdoc />
    public ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = TimeProvider.GetUtcNow();
        var envelope = new TaskEnvelope<T>(options?.Id ?? Guid.NewGuid().ToString("N"), typeof(T).Name, task, now)
        {
            Headers = options?.Headers ?? TaskHeaders.Empty,
            NotBefore = options?.Delay is { } delay ? now + delay : null,
        };
        _published.Enqueue(envelope);
        return ValueTask.FromResult(envelope.Id);
    }

    /// <inheritdoc />
    public async ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Id is not { } id || options.DeduplicationWindow is not { } window)
            throw new ArgumentException("TryPublishAsync needs TaskPublishOptions.Id and DeduplicationWindow.", nameof(options));
        var now = TimeProvider.GetUtcNow();
        if (_seen.TryGetValue(id, out var at) && now - at < window)
            return new PublishResult(id, false);
        _seen[id] = now;
        return new PublishResult(await PublishAsync(task, options, cancellationToken).ConfigureAwait(false), true);
    }

    /// <summary>
    /// True for a task id this context published: nothing settles tasks here, so every published task stays unsettled (a source
    /// that asks never sees its tasks settled elsewhere).
    /// </summary>
    public ValueTask<bool> IsUnsettledAsync(string taskId, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_published.Any(e => e.Id == taskId));
    }

    /// <summary>The checkpoints the source wrote (name → value), kept in memory.</summary>
    public IReadOnlyDictionary<string, string> Checkpoints
    {
        get
        {
            lock (_checkpoints)
                return new Dictionary<string, string>(_checkpoints, StringComparer.Ordinal);
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> GetCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_checkpoints)
            return ValueTask.FromResult(_checkpoints.TryGetValue(name, out var value) ? value : null);
    }

    /// <inheritdoc />
    public ValueTask<bool> TrySetCheckpointAsync(string name, string? expected, string value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        lock (_checkpoints)
        {
            var current = _checkpoints.TryGetValue(name, out var held) ? held : null;
            if (!string.Equals(current, expected, StringComparison.Ordinal))
                return ValueTask.FromResult(false);
            _checkpoints[name] = value;
            return ValueTask.FromResult(true);
        }
    }

    /// <inheritdoc />
    public async ValueTask WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        while (_paused)
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void ReportHealthy(string state, IReadOnlyDictionary<string, string>? details = null)
    {
        _reports.Enqueue((state, null));
        if (details is not null)
            ReportDetails(details);
    }

    /// <inheritdoc />
    public void ReportCaughtUp() => Interlocked.Increment(ref _caughtUp);

    /// <inheritdoc />
    public void ReportDetails(IReadOnlyDictionary<string, string> details)
    {
        ArgumentNullException.ThrowIfNull(details);
        lock (_details)
        {
            foreach (var (key, value) in details)
                _details[key] = value;
        }
    }

    /// <inheritdoc />
    public void ReportError(string state, Exception error) => _reports.Enqueue((state, error));

    /// <inheritdoc />
    public void RecordEvent(string name) => _events.Enqueue(name);

    private static async Task WaitAsync(Func<bool> condition, string what, TimeSpan? timeout)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"Not within {limit.TotalSeconds:0.#} s: {what}.");
            await Task.Delay(5).ConfigureAwait(false);
        }
    }
}

/// <summary>A source running on a <see cref="TestSourceContext{T}"/>.</summary>
public sealed class TestSourceRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    internal TestSourceRun(Func<CancellationToken, Task> run) => Completion = Task.Run(() => run(_stop.Token));

    /// <summary>The source's <c>RunAsync</c>: faulted when the source threw.</summary>
    public Task Completion { get; }

    /// <summary>Cancels the source and waits for it to return; rethrows what it threw other than the cancellation.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
