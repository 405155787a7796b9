namespace AppRuntime;

/// <summary>A snapshot of a queue's counters.</summary>
public readonly record struct QueueStats
{
    /// <summary>Tasks ready to be delivered now.</summary>
    public long Depth { get; init; }

    /// <summary>Tasks leased to consumers and not yet settled.</summary>
    public long InFlight { get; init; }

    /// <summary>Tasks waiting for a retry delay or a not-before time.</summary>
    public long Delayed { get; init; }

    /// <summary>Tasks in the dead-letter store.</summary>
    public long DeadLettered { get; init; }

    /// <summary>Tasks published since the queue was created.</summary>
    public long Published { get; init; }

    /// <summary>Tasks acknowledged since the queue was created.</summary>
    public long Acked { get; init; }

    /// <summary>Nacks since the queue was created (including those that dead-lettered).</summary>
    public long Nacked { get; init; }

    /// <summary>The queue's capacity (0 when unbounded).</summary>
    public int Capacity { get; init; }

    /// <summary>Consumers currently attached, where the backend knows.</summary>
    public int Consumers { get; init; }

    /// <summary>Tasks the queue holds: ready, delayed and in flight. Capacity bounds this number.</summary>
    public long Outstanding => Depth + InFlight + Delayed;
}

/// <summary>A task in the dead-letter store.</summary>
/// <param name="Id">The task id.</param>
/// <param name="Queue">The queue it came from.</param>
/// <param name="TaskType">The task type.</param>
/// <param name="Attempts">Deliveries made before it was dead-lettered.</param>
/// <param name="Reason">Why it was dead-lettered (the last error).</param>
/// <param name="EnqueuedAt">When it was first published.</param>
/// <param name="DeadLetteredAt">When it was dead-lettered.</param>
/// <param name="Payload">
/// A text rendering of the payload for operators, when the backend has one. In a listing
/// (<see cref="ITaskQueue.GetDeadLettersAsync"/>) it is a preview of at most <see cref="PreviewLength"/> characters
/// (<see cref="PayloadTruncated"/> says whether it was cut); <see cref="ITaskQueue.GetDeadLetterAsync"/> returns it whole.
/// </param>
public sealed record DeadLetter(
    string Id,
    string Queue,
    string TaskType,
    int Attempts,
    string Reason,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset DeadLetteredAt,
    string? Payload)
{
    /// <summary>The most characters of a payload a dead-letter listing returns per task.</summary>
    public const int PreviewLength = 1024;

    /// <summary>
    /// The size of the whole payload where the backend knows it: the stored bytes for a durable backend, the characters of the
    /// rendering for the in-memory one; null when unknown.
    /// </summary>
    public long? PayloadSize { get; init; }

    /// <summary>True when <see cref="Payload"/> is a preview that was cut short (the whole payload is longer).</summary>
    public bool PayloadTruncated { get; init; }
}

/// <summary>A dead letter whose stored record could not be read; it was left out of a listing.</summary>
/// <param name="Id">The task id (purge or retry it by this id).</param>
/// <param name="Problem">What could not be read, for example <c>dead-lettered-at 'x' is not a time (UTC ticks)</c>.</param>
public sealed record UnreadableDeadLetter(string Id, string Problem);

/// <summary>A listing of dead letters: the ones that could be read, oldest first, and the ones skipped because they could not.</summary>
/// <param name="Items">The dead letters that could be read.</param>
/// <param name="Skipped">Entries of the same range that could not be read, with why.</param>
public sealed record DeadLetterListing(IReadOnlyList<DeadLetter> Items, IReadOnlyList<UnreadableDeadLetter> Skipped);
