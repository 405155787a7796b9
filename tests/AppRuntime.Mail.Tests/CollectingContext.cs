using System.Collections.Concurrent;
using AppRuntime.Mail;

namespace AppRuntime.Mail.Tests;

/// <summary>A source context that records what a source publishes and reports, standing in for the runtime.</summary>
internal sealed class CollectingContext(TimeProvider? time = null) : ITaskSourceContext<ImapMessage>
{
    private readonly ConcurrentQueue<TaskEnvelope<ImapMessage>> _published = new();
    private readonly ConcurrentQueue<(string State, Exception? Error)> _reports = new();

    public string SourceName => "imap-test";

    public string QueueName => "mail";

    public TimeProvider TimeProvider { get; } = time ?? TimeProvider.System;

    public bool IsPaused => false;

    public IReadOnlyList<TaskEnvelope<ImapMessage>> Published => [.. _published];

    public IReadOnlyList<(string State, Exception? Error)> Reports => [.. _reports];

    public int HealthyReports(string state) => _reports.Count(r => r.Error is null && r.State == state);

    public ValueTask<string> PublishAsync(ImapMessage task, TaskPublishOptions? options = null, CancellationToken cancellationToken = default)
    {
        var id = options?.Id ?? Guid.NewGuid().ToString("N");
        _published.Enqueue(new TaskEnvelope<ImapMessage>(id, nameof(ImapMessage), task, TimeProvider.GetUtcNow()) { Attempt = 1 });
        return ValueTask.FromResult(id);
    }

    public ValueTask WaitUntilReadyAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Task ids the queue no longer holds (settled by "another instance"); every other published id is pending.</summary>
    public ConcurrentDictionary<string, bool> SettledElsewhere { get; } = new(StringComparer.Ordinal);

    /// <summary>The ids the source asked about (<c>IsUnsettledAsync</c>).</summary>
    public ConcurrentQueue<string> PendingQueries { get; } = new();

    /// <summary>The batches the source asked about (<c>AreUnsettledAsync</c>), each as the ids in it.</summary>
    public ConcurrentQueue<IReadOnlyList<string>> PendingBatches { get; } = new();

    /// <summary>Records the batch, then answers each id as <see cref="IsUnsettledAsync"/> does.</summary>
    public async ValueTask<bool[]> AreUnsettledAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        PendingBatches.Enqueue([.. taskIds]);
        var answers = new bool[taskIds.Count];
        for (var i = 0; i < answers.Length; i++)
            answers[i] = await IsUnsettledAsync(taskIds[i], cancellationToken);
        return answers;
    }

    /// <summary>When set, <c>IsUnsettledAsync</c> throws it (the queue's backend is away).</summary>
    public Exception? LookupFails { get; set; }

    public ValueTask<bool> IsUnsettledAsync(string taskId, CancellationToken cancellationToken = default)
    {
        PendingQueries.Enqueue(taskId);
        if (LookupFails is { } error)
            throw error;
        return ValueTask.FromResult(_published.Any(t => t.Id == taskId) && !SettledElsewhere.ContainsKey(taskId));
    }

    private readonly ConcurrentQueue<string> _events = new();
    private readonly ConcurrentDictionary<string, string> _details = new(StringComparer.Ordinal);

    /// <summary>The source events counted so far (<c>RecordEvent</c>).</summary>
    public IReadOnlyList<string> Events => [.. _events];

    /// <summary>The details reported so far, merged as the runtime merges them.</summary>
    public IReadOnlyDictionary<string, string> Details => new Dictionary<string, string>(_details, StringComparer.Ordinal);

    public void ReportHealthy(string state, IReadOnlyDictionary<string, string>? details = null)
    {
        if (details is not null)
            ReportDetails(details);
        _reports.Enqueue((state, null));
    }

    public void ReportDetails(IReadOnlyDictionary<string, string> details)
    {
        foreach (var (key, value) in details)
            _details[key] = value;
    }

    public void RecordEvent(string name) => _events.Enqueue(name);

    public void ReportError(string state, Exception error) => _reports.Enqueue((state, error));
}

/// <summary>Runs a source in the background and stops it (observing its exception) at dispose.</summary>
internal sealed class RunningSource : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public RunningSource(ITaskSource<ImapMessage> source, CollectingContext context)
    {
        Context = context;
        _run = Task.Run(() => source.RunAsync(context, _stop.Token));
    }

    public CollectingContext Context { get; }

    public bool IsCompleted => _run.IsCompleted;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
        _stop.Dispose();
    }
}
