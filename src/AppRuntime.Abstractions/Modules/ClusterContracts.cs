namespace AppRuntime;

/// <summary>One running instance of the application (one process), as it announces itself to the others.</summary>
/// <param name="Id">The instance id, unique per process start (<c>host:pid:random</c>).</param>
/// <param name="Host">The machine name.</param>
/// <param name="ProcessId">The process id.</param>
/// <param name="Version">The application's version (its entry assembly's informational version).</param>
/// <param name="StartedAt">When the runtime started.</param>
public sealed record RuntimeInstanceInfo(string Id, string Host, int ProcessId, string Version, DateTimeOffset StartedAt);

/// <summary>What an instance last announced: who it is, when, the sources it leads, its pools and the lease owners of its queues.</summary>
/// <param name="Instance">The instance.</param>
/// <param name="LastSeen">When it announced this (on its clock).</param>
/// <param name="LeadSources">The exclusive sources it leads right now.</param>
/// <param name="Pools">Its worker pools (queue names) with their worker counts.</param>
/// <param name="LeaseOwners">For each queue shared through a backend, the owner id its leases carry (see <see cref="ILeaseOwnerQueue"/>).</param>
public sealed record InstanceHeartbeat(
    RuntimeInstanceInfo Instance,
    DateTimeOffset LastSeen,
    IReadOnlyList<string> LeadSources,
    IReadOnlyDictionary<string, int> Pools,
    IReadOnlyDictionary<string, string> LeaseOwners);

/// <summary>
/// Where the instances of an application announce themselves (heartbeats) and find each other. The Redis adapter registers one;
/// without it the cluster is this process alone.
/// </summary>
public interface IClusterRegistry
{
    /// <summary>Records <paramref name="heartbeat"/> (replacing the instance's previous one).</summary>
    ValueTask HeartbeatAsync(InstanceHeartbeat heartbeat, CancellationToken cancellationToken = default);

    /// <summary>Every instance's last heartbeat, dead ones included until they are removed.</summary>
    ValueTask<IReadOnlyList<InstanceHeartbeat>> GetInstancesAsync(CancellationToken cancellationToken = default);

    /// <summary>Forgets instance <paramref name="instanceId"/> (it stopped, or it was dead long enough).</summary>
    ValueTask RemoveAsync(string instanceId, CancellationToken cancellationToken = default);
}

/// <summary>
/// A queue capability of a backend shared by several instances: whose leases are whose. Every lease a queue instance hands out
/// carries its <see cref="LeaseOwner"/>, which the instance announces in its heartbeat, so an operator can count a dead
/// instance's leases and give them back at once instead of waiting for them to run out.
/// </summary>
public interface ILeaseOwnerQueue
{
    /// <summary>The owner id this queue instance's leases carry.</summary>
    string LeaseOwner { get; }

    /// <summary>The leases held right now, counted by owner id.</summary>
    ValueTask<IReadOnlyDictionary<string, int>> CountLeasesByOwnerAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends every lease of <paramref name="owner"/> now: its tasks are delivered again at once (as if the leases had run out, so each
    /// delivery counts as an attempt). A settle that the owner still sends afterwards finds its lease lost.
    /// </summary>
    /// <returns>How many leases were ended.</returns>
    ValueTask<int> ExpireLeasesOfAsync(string owner, CancellationToken cancellationToken = default);
}
