using StackExchange.Redis;

namespace AppRuntime.Internal;

/// <summary>
/// What sources publishing into the queue keep in Redis: checkpoints (one HASH per queue, field <c>&lt;source&gt;/&lt;name&gt;</c>,
/// under the queue's hash tag, so they live in the queue's cluster slot) and whether a task id is still pending.
/// </summary>
internal sealed partial class RedisTaskQueue<T> : ISourceCheckpointStore, IPendingTaskLookup
{
    public async ValueTask<string?> GetCheckpointAsync(string source, string name, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var value = await Db.HashGetAsync(_keys.Checkpoints, CheckpointField(source, name)).ConfigureAwait(false);
        return value.IsNull ? null : (string?)value;
    }

    public async ValueTask<bool> TrySetCheckpointAsync(string source, string name, string? expected, string value, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        cancellationToken.ThrowIfCancellationRequested();
        RedisValue[] args = [CheckpointField(source, name), expected ?? string.Empty, value, expected is null ? "0" : "1"];
        var result = await Db.ScriptEvaluateAsync(LuaScripts.SetCheckpoint, [_keys.Checkpoints], args).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<bool> IsPendingAsync(string taskId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        cancellationToken.ThrowIfCancellationRequested();
        var result = await Db.ScriptEvaluateAsync(LuaScripts.IsPending, [_keys.Dead], [_keys.TaskPrefix, taskId]).ConfigureAwait(false);
        return (long)result == 1;
    }

    private static string CheckpointField(string source, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return source + "/" + name;
    }
}
