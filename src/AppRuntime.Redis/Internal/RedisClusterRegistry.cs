using System.Buffers;
using System.Text.Json;
using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>
/// The instances' heartbeats in Redis: one HASH <c>&lt;prefix&gt;:instances</c>, field instance id → the heartbeat as JSON (written
/// with <see cref="Utf8JsonWriter"/>, read with <see cref="JsonDocument"/>: no reflection). Active only once the Redis backend is in
/// use (a queue on Redis): an app with the adapter but no Redis queue never connects for heartbeats, and sees only itself.
/// </summary>
internal sealed class RedisClusterRegistry(RedisBackendHandle handle, Func<IConnectionMultiplexer> connection) : IClusterRegistry
{
    private RedisKey Key => handle.Backend.Options.KeyPrefix + ":instances";

    public async ValueTask HeartbeatAsync(InstanceHeartbeat heartbeat, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        if (!handle.IsCreated)
            return;
        cancellationToken.ThrowIfCancellationRequested();
        await AvailableAsync(() => connection().GetDatabase().HashSetAsync(Key, heartbeat.Instance.Id, Encode(heartbeat)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<InstanceHeartbeat>> GetInstancesAsync(CancellationToken cancellationToken = default)
    {
        if (!handle.IsCreated)
            return [];
        cancellationToken.ThrowIfCancellationRequested();
        var entries = await AvailableAsync(() => connection().GetDatabase().HashGetAllAsync(Key), cancellationToken).ConfigureAwait(false);
        var result = new List<InstanceHeartbeat>(entries.Length);
        foreach (var entry in entries)
        {
            if (TryDecode(entry.Value, out var heartbeat))
                result.Add(heartbeat);
        }
        return result;
    }

    public async ValueTask RemoveAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        if (!handle.IsCreated)
            return;
        cancellationToken.ThrowIfCancellationRequested();
        await AvailableAsync(() => connection().GetDatabase().HashDeleteAsync(Key, instanceId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a call on Redis; a connection that is down or does not answer becomes <see cref="QueueBackendUnavailableException"/> (the control plane answers 503).</summary>
    private async Task<TResult> AvailableAsync<TResult>(Func<Task<TResult>> call, CancellationToken cancellationToken)
    {
        var multiplexer = connection();
        if (!multiplexer.IsConnected)
            throw new QueueBackendUnavailableException("(cluster registry)", RedisQueueBackend.BackendName, "not connected to Redis");
        try
        {
            return await call().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisConnectionException or RedisTimeoutException)
        {
            throw new QueueBackendUnavailableException("(cluster registry)", RedisQueueBackend.BackendName, "Redis did not answer: " + ex.Message, ex);
        }
    }

    internal static byte[] Encode(InstanceHeartbeat heartbeat)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", heartbeat.Instance.Id);
            json.WriteString("host", heartbeat.Instance.Host);
            json.WriteNumber("pid", heartbeat.Instance.ProcessId);
            json.WriteString("version", heartbeat.Instance.Version);
            json.WriteString("startedAt", heartbeat.Instance.StartedAt);
            json.WriteString("lastSeen", heartbeat.LastSeen);
            json.WriteStartArray("leads");
            foreach (var source in heartbeat.LeadSources)
                json.WriteStringValue(source);
            json.WriteEndArray();
            json.WriteStartObject("pools");
            foreach (var (queue, workers) in heartbeat.Pools)
                json.WriteNumber(queue, workers);
            json.WriteEndObject();
            json.WriteStartObject("leaseOwners");
            foreach (var (queue, owner) in heartbeat.LeaseOwners)
                json.WriteString(queue, owner);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a heartbeat; false for a value this version cannot read (it is skipped, never fails the listing).</summary>
    internal static bool TryDecode(RedisValue value, out InstanceHeartbeat heartbeat)
    {
        heartbeat = null!;
        if (value.IsNullOrEmpty)
            return false;
        try
        {
            using var document = JsonDocument.Parse((byte[])value!);
            var root = document.RootElement;
            var instance = new RuntimeInstanceInfo(root.GetProperty("id").GetString() ?? "", root.GetProperty("host").GetString() ?? "",
                root.GetProperty("pid").GetInt32(), root.GetProperty("version").GetString() ?? "", root.GetProperty("startedAt").GetDateTimeOffset());
            var leads = new List<string>();
            foreach (var item in root.GetProperty("leads").EnumerateArray())
                leads.Add(item.GetString() ?? "");
            var pools = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var item in root.GetProperty("pools").EnumerateObject())
                pools[item.Name] = item.Value.GetInt32();
            var owners = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in root.GetProperty("leaseOwners").EnumerateObject())
                owners[item.Name] = item.Value.GetString() ?? "";
            heartbeat = new InstanceHeartbeat(instance, root.GetProperty("lastSeen").GetDateTimeOffset(), leads, pools, owners);
            return instance.Id.Length > 0;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }
}
