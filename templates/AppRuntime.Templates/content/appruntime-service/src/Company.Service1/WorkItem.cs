namespace Company.Service1;

/// <summary>One unit of work: the queue's task type. Keep it a plain record: durable queues store it as JSON.</summary>
/// <param name="Id">The item's id.</param>
/// <param name="Sequence">Its number since the service started.</param>
/// <param name="CreatedAt">When the source made it.</param>
public sealed record WorkItem(string Id, int Sequence, DateTimeOffset CreatedAt);
