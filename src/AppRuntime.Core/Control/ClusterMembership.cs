using AppRuntime.Internal;
using Microsoft.Extensions.Logging;

namespace AppRuntime;

/// <summary>One instance in the cluster view.</summary>
/// <param name="Id">The instance id (<c>host:pid:random</c>).</param>
/// <param name="Host">Its machine.</param>
/// <param name="ProcessId">Its process id.</param>
/// <param name="Version">Its application version.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="LastSeen">Its last heartbeat.</param>
/// <param name="Alive">False once its last heartbeat is older than <c>AppRuntime:Cluster:InstanceTtl</c>.</param>
/// <param name="Self">True for the instance answering.</param>
/// <param name="Leads">The exclusive sources it leads (as it last said).</param>
/// <param name="Pools">Its worker pools with their worker counts.</param>
/// <param name="Leases">Tasks it holds leased right now, by queue (counted in the shared queues).</param>
public sealed record ClusterInstance(
    string Id,
    string Host,
    int ProcessId,
    string Version,
    DateTimeOffset StartedAt,
    DateTimeOffset LastSeen,
    bool Alive,
    bool Self,
    IReadOnlyList<string> Leads,
    IReadOnlyDictionary<string, int> Pools,
    IReadOnlyDictionary<string, int> Leases);

/// <summary>The leases of one shared queue, by whom they are held.</summary>
/// <param name="Queue">The queue.</param>
/// <param name="Live">Leases held by live instances.</param>
/// <param name="Dead">Leases held by instances shown dead: they come back when they run out (the visibility timeout), or at once when an operator releases them.</param>
/// <param name="Unknown">Leases whose holder is in no heartbeat (an instance removed from the view, or one of another application on the same prefix).</param>
public sealed record ClusterQueueLeases(string Queue, int Live, int Dead, int Unknown);

/// <summary>The instances of the application and who holds what (<c>/api/cluster</c>).</summary>
/// <param name="Shared">True when the instances share a registry (Redis); false when this process sees only itself.</param>
/// <param name="Self">This instance's id.</param>
/// <param name="Instances">Every instance, live first, then by id.</param>
/// <param name="Queues">The leases of each shared queue.</param>
/// <param name="InstanceTtl">After how long without a heartbeat an instance is shown dead.</param>
public sealed record ClusterView(bool Shared, string Self, IReadOnlyList<ClusterInstance> Instances, IReadOnlyList<ClusterQueueLeases> Queues, TimeSpan InstanceTtl);

/// <summary>
/// This instance's membership: it writes its heartbeat every <c>AppRuntime:Cluster:HeartbeatInterval</c> (its id, host, pid,
/// version, start time, the sources it leads, its pools and the lease owners of its shared queues), removes instances dead longer
/// than <c>AppRuntime:Cluster:RemoveAfter</c>, and builds the cluster view. Without a registry the cluster is this process.
/// </summary>
internal sealed partial class ClusterMembership : IDisposable
{
    private readonly RuntimeServices _services;
    private readonly SourceSupervisor _sources;
    private readonly WorkerSupervisor _pools;
    private readonly QueueManager _queues;
    private readonly IClusterRegistry? _registry;
    private readonly ILogger _logger;
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private bool _failing;

    public ClusterMembership(RuntimeServices services, SourceSupervisor sources, WorkerSupervisor pools, QueueManager queues, IClusterRegistry? registry)
    {
        _services = services;
        _sources = sources;
        _pools = pools;
        _queues = queues;
        _registry = registry;
        _logger = services.Loggers.CreateLogger("AppRuntime.Cluster");
    }

    public RuntimeInstanceInfo Instance => _services.Instance;

    public void Dispose() => _stop?.Dispose();

    public void Start()
    {
        if (_registry is null)
            return;
        _stop = new CancellationTokenSource();
        _loop = Task.Run(() => HeartbeatLoopAsync(_stop.Token));
    }

    /// <summary>Stops the heartbeats and takes this instance out of the view (it stopped cleanly: nothing of it is left to show).</summary>
    public async Task StopAsync()
    {
        if (_stop is null || _registry is null)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _registry.RemoveAsync(Instance.Id, timeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Not removed: it shows dead after the TTL and is removed later.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _registry!.HeartbeatAsync(CurrentHeartbeat(), cancellationToken).ConfigureAwait(false);
                await RemoveLongDeadAsync(cancellationToken).ConfigureAwait(false);
                if (_failing)
                    Log.HeartbeatRestored(_logger, Instance.Id);
                _failing = false;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // The registry's backend is down: logged once, tried again at the next beat.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                if (!_failing)
                    Log.HeartbeatFailed(_logger, Instance.Id, ex.Message);
                _failing = true;
            }
            try
            {
                await Task.Delay(_services.Options.Cluster.HeartbeatInterval, _services.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task RemoveLongDeadAsync(CancellationToken cancellationToken)
    {
        var removeBefore = _services.Time.GetUtcNow() - _services.Options.Cluster.RemoveAfter;
        foreach (var heartbeat in await _registry!.GetInstancesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (heartbeat.LastSeen < removeBefore && heartbeat.Instance.Id != Instance.Id)
            {
                await _registry.RemoveAsync(heartbeat.Instance.Id, cancellationToken).ConfigureAwait(false);
                Log.Removed(_logger, heartbeat.Instance.Id, heartbeat.LastSeen);
            }
        }
    }

    /// <summary>What this instance announces now.</summary>
    public InstanceHeartbeat CurrentHeartbeat()
    {
        var leads = _sources.Leading();
        var pools = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pool in _pools.GetSnapshots())
            pools[pool.Queue] = pool.DesiredWorkers;
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var queue in _queues.All)
        {
            if (queue is ILeaseOwnerQueue owner)
                owners[queue.Name] = owner.LeaseOwner;
        }
        return new InstanceHeartbeat(Instance, _services.Time.GetUtcNow(), leads, pools, owners);
    }

    /// <summary>The cluster view: every instance (this one from its live state), and each shared queue's leases by holder.</summary>
    public async Task<ClusterView> GetViewAsync(CancellationToken cancellationToken)
    {
        var now = _services.Time.GetUtcNow();
        var ttl = _services.Options.Cluster.InstanceTtl;
        var self = CurrentHeartbeat();
        var heartbeats = new Dictionary<string, InstanceHeartbeat>(StringComparer.Ordinal);
        // Shared when the registry holds heartbeats (the Redis adapter's registry stays empty while no queue is on Redis).
        var shared = false;
        if (_registry is not null)
        {
            foreach (var heartbeat in await _registry.GetInstancesAsync(cancellationToken).ConfigureAwait(false))
            {
                heartbeats[heartbeat.Instance.Id] = heartbeat;
                shared = true;
            }
        }
        heartbeats[self.Instance.Id] = self;

        // Lease owner id → instance id, for each queue.
        var ownerToInstance = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var heartbeat in heartbeats.Values)
        {
            foreach (var owner in heartbeat.LeaseOwners.Values)
                ownerToInstance[owner] = heartbeat.Instance.Id;
        }
        var leasesByInstance = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var queues = new List<ClusterQueueLeases>();
        foreach (var queue in _queues.All.OrderBy(q => q.Name, StringComparer.Ordinal))
        {
            if (queue is not ILeaseOwnerQueue leaseOwners)
                continue;
            int live = 0, dead = 0, unknown = 0;
            foreach (var (owner, count) in await leaseOwners.CountLeasesByOwnerAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!ownerToInstance.TryGetValue(owner, out var id))
                {
                    unknown += count;
                    continue;
                }
                if (Alive(heartbeats[id], now, ttl))
                    live += count;
                else
                    dead += count;
                if (!leasesByInstance.TryGetValue(id, out var byQueue))
                    leasesByInstance[id] = byQueue = new Dictionary<string, int>(StringComparer.Ordinal);
                byQueue[queue.Name] = byQueue.GetValueOrDefault(queue.Name) + count;
            }
            queues.Add(new ClusterQueueLeases(queue.Name, live, dead, unknown));
        }

        var instances = heartbeats.Values
            .Select(h => new ClusterInstance(h.Instance.Id, h.Instance.Host, h.Instance.ProcessId, h.Instance.Version, h.Instance.StartedAt, h.LastSeen,
                Alive(h, now, ttl), h.Instance.Id == Instance.Id, h.LeadSources, h.Pools,
                leasesByInstance.TryGetValue(h.Instance.Id, out var leases) ? leases : new Dictionary<string, int>(StringComparer.Ordinal)))
            .OrderByDescending(i => i.Alive).ThenBy(i => i.Id, StringComparer.Ordinal)
            .ToList();
        return new ClusterView(shared, Instance.Id, instances, queues, ttl);
    }

    /// <summary>
    /// Ends the leases a dead instance holds in every shared queue, so its tasks are delivered again now. Refused (Conflict) for a live
    /// instance, NotFound for one not in the view.
    /// </summary>
    public async Task<ControlResult<int>> ReleaseLeasesAsync(string instanceId, CancellationToken cancellationToken)
    {
        // One read of the registry: the heartbeat says whether the instance is known and alive, and which lease owner it is per queue.
        var now = _services.Time.GetUtcNow();
        var heartbeat = instanceId == Instance.Id
            ? CurrentHeartbeat()
            : (_registry is null ? [] : await _registry.GetInstancesAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(h => h.Instance.Id == instanceId);
        if (heartbeat is null)
            return new ControlResult<int>(ControlStatus.NotFound, Error: $"no instance '{instanceId}' in the cluster view");
        if (Alive(heartbeat, now, _services.Options.Cluster.InstanceTtl))
            return new ControlResult<int>(ControlStatus.Conflict, Error: $"instance '{instanceId}' is alive (last heartbeat {heartbeat.LastSeen:O}); only a dead instance's leases can be released");
        var owners = heartbeat.LeaseOwners;
        var released = 0;
        foreach (var queue in _queues.All)
        {
            if (queue is ILeaseOwnerQueue leaseOwners && owners.TryGetValue(queue.Name, out var owner))
                released += await leaseOwners.ExpireLeasesOfAsync(owner, cancellationToken).ConfigureAwait(false);
        }
        Log.LeasesReleased(_logger, released, instanceId);
        return new ControlResult<int>(ControlStatus.Ok, released);
    }

    private static bool Alive(InstanceHeartbeat heartbeat, DateTimeOffset now, TimeSpan ttl) => now - heartbeat.LastSeen <= ttl;

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Warning, "Instance {Instance} could not write its heartbeat ({Reason}); other instances will show it dead until it can")]
        public static partial void HeartbeatFailed(ILogger logger, string instance, string reason);

        [LoggerMessage(61, LogLevel.Information, "Instance {Instance} writes its heartbeat again")]
        public static partial void HeartbeatRestored(ILogger logger, string instance);

        [LoggerMessage(62, LogLevel.Information, "Removed instance {Instance} from the cluster view (last heartbeat {LastSeen:O})")]
        public static partial void Removed(ILogger logger, string instance, DateTimeOffset lastSeen);

        [LoggerMessage(63, LogLevel.Warning, "Released {Count} lease(s) of dead instance {Instance}: their tasks are delivered again")]
        public static partial void LeasesReleased(ILogger logger, int count, string instance);
    }
}
