namespace AppRuntime;

/// <summary>
/// The attribute names on AppRuntime's spans and metrics: the OpenTelemetry messaging conventions (<c>messaging.*</c>) and the
/// runtime's own (<c>appruntime.*</c>). Dashboards and tests can use these instead of spelling the names out.
/// </summary>
public static class TelemetryTags
{
    /// <summary><c>messaging.system</c>: always <see cref="TraceService.MessagingSystem"/>.</summary>
    public const string MessagingSystem = "messaging.system";

    /// <summary><c>messaging.destination.name</c>: the queue.</summary>
    public const string DestinationName = "messaging.destination.name";

    /// <summary><c>messaging.operation.type</c>: <c>send</c> or <c>process</c>.</summary>
    public const string OperationType = "messaging.operation.type";

    /// <summary><c>messaging.operation.name</c>: <c>publish</c>.</summary>
    public const string OperationName = "messaging.operation.name";

    /// <summary><c>messaging.message.id</c>: the task id.</summary>
    public const string MessageId = "messaging.message.id";

    /// <summary><c>messaging.message.delivery_attempt</c>: the delivery attempt, from 1.</summary>
    public const string DeliveryAttempt = "messaging.message.delivery_attempt";

    /// <summary><c>appruntime.source</c>: the source that published the task, or whose event a metric counts.</summary>
    public const string Source = "appruntime.source";

    /// <summary><c>appruntime.source.event</c>: a source event's name (<c>poll</c>, <c>reconnect</c>, ...).</summary>
    public const string SourceEvent = "appruntime.source.event";

    /// <summary><c>appruntime.task.type</c>: the task's logical type name.</summary>
    public const string TaskType = "appruntime.task.type";

    /// <summary><c>appruntime.outcome</c>: the delivery's <see cref="TaskOutcome"/> (<see cref="TaskOutcomeNames.ToName"/>).</summary>
    public const string Outcome = "appruntime.outcome";
}
