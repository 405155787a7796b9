using System.Diagnostics.Metrics;

namespace AppRuntime.Internal;

/// <summary>
/// Observable gauges of the running runtime: queue depth, in-flight and dead-lettered tasks per queue, busy workers per pool.
/// Gauge callbacks are synchronous; a backend whose stats need I/O (Redis) reports the last value it returned and is
/// refreshed in the background, so a metrics export never blocks on the network.
/// </summary>
internal sealed class RuntimeMetrics
{
    private readonly QueueManager _queues;
    private readonly WorkerSupervisor _supervisor;
    private readonly Dictionary<string, QueueStats> _last = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refreshing = new(StringComparer.Ordinal);

    public RuntimeMetrics(Meter meter, QueueManager queues, WorkerSupervisor supervisor)
    {
        _queues = queues;
        _supervisor = supervisor;
        meter.CreateObservableGauge("appruntime.queue.depth", () => Observe(s => s.Depth), "{task}", "Tasks ready to be delivered.");
        meter.CreateObservableGauge("appruntime.queue.in_flight", () => Observe(s => s.InFlight), "{task}", "Tasks leased to workers.");
        meter.CreateObservableGauge("appruntime.queue.delayed", () => Observe(s => s.Delayed), "{task}", "Tasks waiting for a retry delay.");
        meter.CreateObservableGauge("appruntime.queue.dead_lettered", () => Observe(s => s.DeadLettered), "{task}", "Tasks in the dead-letter store.");
        meter.CreateObservableGauge("appruntime.workers.busy", ObserveBusy, "{worker}", "Workers running a handler.");
    }

    private IEnumerable<Measurement<long>> Observe(Func<QueueStats, long> pick)
    {
        foreach (var q in _queues.All)
        {
            var stats = Stats(q);
            yield return new Measurement<long>(pick(stats), TaskTelemetry.QueueTag(q.Name));
        }
    }

    private IEnumerable<Measurement<int>> ObserveBusy()
    {
        foreach (var pool in _supervisor.GetSnapshots())
            yield return new Measurement<int>(pool.Workers.Count(w => w.State == WorkerState.Busy), TaskTelemetry.QueueTag(pool.Queue));
    }

    private QueueStats Stats(ITaskQueue queue)
    {
        var pending = queue.GetStatsAsync();
        if (pending.IsCompletedSuccessfully)
        {
            var stats = pending.Result;
            lock (_last)
                _last[queue.Name] = stats;
            return stats;
        }
        lock (_last)
        {
            if (_refreshing.Add(queue.Name))
                _ = RefreshAsync(queue.Name, pending);
            return _last.TryGetValue(queue.Name, out var last) ? last : default;
        }
    }

    private async Task RefreshAsync(string name, ValueTask<QueueStats> pending)
    {
        try
        {
            var stats = await pending.ConfigureAwait(false);
            lock (_last)
                _last[name] = stats;
        }
#pragma warning disable CA1031 // A failed refresh keeps the last value; the queue's health contributor reports the outage.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            lock (_last)
                _refreshing.Remove(name);
        }
    }
}
