namespace AppRuntime.Testing.Internal;

/// <summary>Every task event of one harness, in order, and a counter of everything that moved (publishes, deliveries, source reports).</summary>
internal sealed class TaskJournal(TimeProvider time)
{
    private readonly object _lock = new();
    private readonly List<TaskEvent> _events = [];
    private readonly Dictionary<(string Queue, string TaskId), DateTimeOffset> _due = [];
    private long _activity;

    public TimeProvider Time { get; } = time;

    /// <summary>Goes up on every queue operation and source report: two idle looks with the same value saw nothing move in between.</summary>
    public long Activity => Interlocked.Read(ref _activity);

    public void Touch() => Interlocked.Increment(ref _activity);

    public void Add(TaskEventKind kind, string queue, string taskId, object? payload, int attempt, string? error = null, TimeSpan? retryDelay = null)
    {
        Touch();
        lock (_lock)
            _events.Add(new TaskEvent(kind, queue, taskId, payload, attempt, error, retryDelay, Time.GetUtcNow()));
    }

    public IReadOnlyList<TaskEvent> Snapshot()
    {
        lock (_lock)
            return [.. _events];
    }

    /// <summary>Remembers when a delayed task becomes due, so the harness can move the clock straight to it.</summary>
    public void Delayed(string queue, string taskId, DateTimeOffset due)
    {
        lock (_lock)
            _due[(queue, taskId)] = due;
    }

    public void Delivered(string queue, string taskId)
    {
        lock (_lock)
            _due.Remove((queue, taskId));
    }

    /// <summary>The earliest known due time of a delayed task later than now, if any.</summary>
    public DateTimeOffset? NextDue(DateTimeOffset now)
    {
        lock (_lock)
        {
            DateTimeOffset? next = null;
            foreach (var due in _due.Values)
            {
                if (due > now && (next is null || due < next))
                    next = due;
            }
            return next;
        }
    }
}
