namespace AppRuntime;

/// <summary>Declares a queue: its name, task type and delivery settings. Generated module code creates these.</summary>
public sealed record QueueDefinition
{
    /// <summary>Creates a definition.</summary>
    public QueueDefinition(string name, string taskType)
    {
        NameValidation.ThrowIfInvalid(name, "queue");
        ArgumentException.ThrowIfNullOrEmpty(taskType);
        Name = name;
        TaskType = taskType;
    }

    /// <summary>The queue name.</summary>
    public string Name { get; }

    /// <summary>The logical task type name.</summary>
    public string TaskType { get; }

    /// <summary>Maximum tasks the queue holds (ready + delayed + in flight). Publishing waits beyond it.</summary>
    public int Capacity { get; init; } = 10_000;

    /// <summary>
    /// How long a consumer holds a task before it is delivered again, unless the lease is renewed (the worker pool renews it
    /// while a handler runs). Default 30 s; <c>AppRuntime:Queues:&lt;name&gt;:VisibilityTimeout</c> overrides the declaration.
    /// </summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many ready tasks a queue instance may lease ahead of its consumers into a local buffer, for backends that lease over a
    /// network (Redis; the in-memory backend has nothing to save and ignores it), from 0 to 1000. Null: the backend's own setting
    /// (<c>AppRuntime:Redis:Prefetch</c>, default 0). <c>AppRuntime:Queues:&lt;name&gt;:Prefetch</c> sets it for one queue.
    /// </summary>
    public int? Prefetch { get; init; }

    /// <summary>The largest <see cref="Prefetch"/>.</summary>
    public const int MaxPrefetch = 1000;

    /// <summary>Deliveries after which a failing task is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Fraction of <see cref="Capacity"/> at which sources pause (backpressure), between 0 and 1.</summary>
    public double HighWatermark { get; init; } = 0.8;

    /// <summary>The backend, when the declaration pins one; otherwise configuration (<c>AppRuntime:Queues:&lt;name&gt;:Backend</c>) decides.</summary>
    public string? Backend { get; init; }

    /// <summary>Checks the settings and throws an <see cref="ArgumentException"/> that names the queue and the setting.</summary>
    public void Validate()
    {
        if (Capacity < 1)
            throw new ArgumentException($"Queue '{Name}': Capacity must be at least 1 (was {Capacity}).");
        if (MaxAttempts < 1)
            throw new ArgumentException($"Queue '{Name}': MaxAttempts must be at least 1 (was {MaxAttempts}).");
        if (VisibilityTimeout <= TimeSpan.Zero)
            throw new ArgumentException($"Queue '{Name}': VisibilityTimeout must be positive (was {VisibilityTimeout}).");
        if (Prefetch is < 0 or > MaxPrefetch)
            throw new ArgumentException($"Queue '{Name}': Prefetch must be in [0, {MaxPrefetch}] (was {Prefetch}).");
        if (HighWatermark is <= 0 or > 1 || double.IsNaN(HighWatermark))
            throw new ArgumentException($"Queue '{Name}': HighWatermark must be in (0, 1] (was {HighWatermark}).");
    }
}

/// <summary>Validation of the names given to queues, pools and sources.</summary>
public static class NameValidation
{
    /// <summary>True when <paramref name="name"/> is 1–100 characters of letters, digits, '-', '_', '.' or ':'.</summary>
    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 100)
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
                return false;
        }
        return true;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the <paramref name="kind"/> when the name is invalid.</summary>
    public static void ThrowIfInvalid(string? name, string kind)
    {
        if (!IsValid(name))
            throw new ArgumentException($"Invalid {kind} name '{name}': use 1-100 characters of letters, digits, '-', '_', '.' or ':'.", nameof(name));
    }
}
