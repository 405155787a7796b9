namespace AppRuntime.Benchmarks.SideBySide;

/// <summary>One contender: a framework set up with a no-op handler and 4 workers, driven by one publishing loop.</summary>
public abstract class Row : IAsyncDisposable
{
    /// <summary>Row label, e.g. <c>(a) raw Channel&lt;T&gt;, 4 readers</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Starts the framework (host, bus, server). Bounded by the row's deadline.</summary>
    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Publishes one task the way an application would (awaited, one at a time).</summary>
    public abstract ValueTask PublishAsync(BenchTask task, CancellationToken cancellationToken);

    /// <summary>How many tasks one publish call carries: 1 awaits each publish; more calls <see cref="PublishManyAsync"/>.</summary>
    public virtual int PublishBatch => 1;

    /// <summary>Publishes a batch in one call (rows whose <see cref="PublishBatch"/> is above 1).</summary>
    public virtual ValueTask PublishManyAsync(BenchTask[] tasks, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{Name} publishes one task at a time.");

    /// <summary>Facts about the row's configuration printed under the table.</summary>
    public virtual string Notes => "";

    /// <summary>Stops the framework; bounded by the harness.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return default;
    }
}

/// <summary>What one row measured.</summary>
public sealed record RowResult(string Name, string Group, bool Completed, string? Failure, int Tasks, int Handled, double Seconds,
    double P50Us, double P99Us, double AllocatedBytesPerTask, double CpuUsPerTask, double ContentionsPer1k, double WorkItemsPerTask, int Gen0, int Gen1, int Gen2, string Notes)
{
    public double TasksPerSecond => Seconds > 0 ? Handled / Seconds : 0;
}
