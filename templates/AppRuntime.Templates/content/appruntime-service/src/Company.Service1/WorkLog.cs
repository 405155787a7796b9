using AppRuntime;

namespace Company.Service1;

/// <summary>What this run of the service handled (a singleton service the handler depends on).</summary>
[Service]
public sealed class WorkLog
{
    private long _handled;

    /// <summary>Tasks handled since the service started.</summary>
    public long Handled => Interlocked.Read(ref _handled);

    /// <summary>Counts one handled task.</summary>
    public void Record() => Interlocked.Increment(ref _handled);
}

/// <summary>With <c>--once</c>: prints what the run did once every source drained and every task settled.</summary>
[Service(As = typeof(IDrainObserver))]
public sealed class RunSummary(WorkLog log) : IDrainObserver
{
    /// <inheritdoc />
    public ValueTask OnDrainedAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine($"Company.Service1: handled {log.Handled} task(s)");
        return ValueTask.CompletedTask;
    }
}
