namespace AppRuntime;

/// <summary>Settings shared by every Redis queue of a <see cref="RedisQueueBackend"/>.</summary>
public sealed class RedisQueueOptions
{
    /// <summary>The first segment of every key (<c>&lt;prefix&gt;:{&lt;queue&gt;}:ready</c>, ...). Default <c>appruntime</c>.</summary>
    public string KeyPrefix { get; set; } = "appruntime";

    /// <summary>
    /// The longest real-time wait between two looks at an idle queue. Consumers and blocked publishers are woken at once
    /// by pub/sub notifications; this interval bounds the delay when a notification is lost or a delayed task falls due.
    /// Default 100 ms.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Checks the settings and throws an <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(KeyPrefix) || KeyPrefix.Contains('{', StringComparison.Ordinal) || KeyPrefix.Contains('}', StringComparison.Ordinal))
            throw new ArgumentException($"Redis KeyPrefix must be non-empty and contain no '{{' or '}}' (was '{KeyPrefix}').");
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(1))
            throw new ArgumentException($"Redis PollInterval must be in (0, 1 min] (was {PollInterval}).");
    }
}
