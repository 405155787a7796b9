namespace AppRuntime.Testing.Internal;

/// <summary>What the harness knows of one running source: has it looked at all its input (reported caught up, or returned)?</summary>
internal sealed class SourceState(string name)
{
    private volatile bool _caughtUp;
    private volatile bool _running;

    public string Name { get; } = name;

    public bool CaughtUp => _caughtUp;

    public bool Running => _running;

    public void Started()
    {
        _running = true;
        _caughtUp = false;
    }

    public void ReportedCaughtUp() => _caughtUp = true;

    public void Ended()
    {
        _running = false;
        _caughtUp = true;
    }
}

/// <summary>A source as the harness runs it: the application's source, with a context that tells the harness what it does.</summary>
internal sealed class ObservedSource<T>(ITaskSource<T> inner, SourceState state, TaskJournal journal) : ITaskSource<T>
{
    public async Task RunAsync(ITaskSourceContext<T> context, CancellationToken cancellationToken)
    {
        state.Started();
        journal.Touch();
        try
        {
            await inner.RunAsync(new Context(context, state, journal), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            state.Ended();
            journal.Touch();
        }
    }

    private sealed class Context(ITaskSourceContext<T> inner, SourceState state, TaskJournal journal) : ITaskSourceContext<T>
    {
        public string SourceName => inner.SourceName;

        public string QueueName => inner.QueueName;

        public TimeProvider TimeProvider => inner.TimeProvider;

        public bool IsPaused => inner.IsPaused;

        public ValueTask<string> PublishAsync(T task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
        {
            journal.Touch();
            return inner.PublishAsync(task, options, cancellationToken);
        }

        public ValueTask<PublishResult> TryPublishAsync(T task, TaskPublishOptions options, CancellationToken cancellationToken = default)
        {
            journal.Touch();
            return inner.TryPublishAsync(task, options, cancellationToken);
        }

        public ValueTask WaitUntilReadyAsync(CancellationToken cancellationToken) => inner.WaitUntilReadyAsync(cancellationToken);

        public void ReportHealthy(string state1, IReadOnlyDictionary<string, string>? details = null) => inner.ReportHealthy(state1, details);

        public void ReportCaughtUp()
        {
            state.ReportedCaughtUp();
            journal.Touch();
            inner.ReportCaughtUp();
        }

        public void ReportDetails(IReadOnlyDictionary<string, string> details) => inner.ReportDetails(details);

        public void ReportError(string state1, Exception error)
        {
            journal.Touch();
            inner.ReportError(state1, error);
        }

        public void RecordEvent(string name) => inner.RecordEvent(name);

        // The interface's defaults would answer for the inner context (or throw): pass them on.
        public ValueTask<bool> IsUnsettledAsync(string taskId, CancellationToken cancellationToken = default) =>
            inner.IsUnsettledAsync(taskId, cancellationToken);

        public ValueTask<bool[]> AreUnsettledAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default) =>
            inner.AreUnsettledAsync(taskIds, cancellationToken);

        public ValueTask<string?> GetCheckpointAsync(string name, CancellationToken cancellationToken = default) =>
            inner.GetCheckpointAsync(name, cancellationToken);

        public ValueTask<bool> TrySetCheckpointAsync(string name, string? expected, string value, CancellationToken cancellationToken = default) =>
            inner.TrySetCheckpointAsync(name, expected, value, cancellationToken);

        public void ReportSchedule(SourceSchedule schedule) => inner.ReportSchedule(schedule);
    }
}
