namespace AppRuntime;

/// <summary>How one delivery of a task ended.</summary>
public enum TaskOutcome
{
    /// <summary>The handler succeeded and the task was acknowledged.</summary>
    Succeeded,

    /// <summary>The handler failed; the task will be delivered again after a delay.</summary>
    Retried,

    /// <summary>The task was moved to its queue's dead letters (a permanent failure, or its attempts ran out).</summary>
    DeadLettered,

    /// <summary>The runtime stopped while the handler ran; the task went back to its queue.</summary>
    Released,

    /// <summary>The lease expired before the outcome could be recorded; the task may run again.</summary>
    LeaseLost,
}

/// <summary>The names of <see cref="TaskOutcome"/> values as they appear in spans, logs and the control plane's JSON.</summary>
public static class TaskOutcomeNames
{
    /// <summary><c>succeeded</c>, <c>retried</c>, <c>dead-lettered</c>, <c>released</c> or <c>lease-lost</c>.</summary>
    public static string ToName(this TaskOutcome outcome) => outcome switch
    {
        TaskOutcome.Succeeded => "succeeded",
        TaskOutcome.Retried => "retried",
        TaskOutcome.DeadLettered => "dead-lettered",
        TaskOutcome.Released => "released",
        TaskOutcome.LeaseLost => "lease-lost",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Unknown task outcome."),
    };
}
