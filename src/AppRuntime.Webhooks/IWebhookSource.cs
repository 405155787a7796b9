using Microsoft.AspNetCore.Http;

namespace AppRuntime;

/// <summary>
/// A webhook source whose JSON body is the task: every verified request with a readable body is published as it is. Put
/// <see cref="WebhookSourceAttribute"/> on the class.
/// </summary>
/// <typeparam name="TTask">The task type of the queue, read from the body.</typeparam>
#pragma warning disable CA1040 // A marker interface: the generator reads the task type from it.
public interface IWebhookSource<TTask>;
#pragma warning restore CA1040

/// <summary>
/// A webhook source with a mapping method: the body is read as <typeparamref name="TRequest"/> and
/// <see cref="MapAsync"/> decides what becomes of it. Put <see cref="WebhookSourceAttribute"/> on the class.
/// </summary>
/// <typeparam name="TRequest">The type the JSON body is read as.</typeparam>
/// <typeparam name="TTask">The task type of the queue.</typeparam>
public interface IWebhookSource<TRequest, TTask>
{
    /// <summary>
    /// Turns a verified request into a task (<see cref="WebhookMapping{TTask}.Accept"/>, answered 202), rejects it
    /// (<see cref="WebhookMapping{TTask}.Reject"/>, answered 422) or ignores it (<see cref="WebhookMapping{TTask}.Ignore"/>, answered
    /// 200 and published nowhere, for example a provider's ping). Runs once per request, concurrently; keep it quick. An exception
    /// is answered 500 and logged.
    /// </summary>
    ValueTask<WebhookMapping<TTask>> MapAsync(TRequest request, WebhookRequest webhook, CancellationToken cancellationToken);
}

/// <summary>What a mapping method decided.</summary>
public enum WebhookMappingResult
{
    /// <summary>Not set (a default value): answered as a failure of the mapping method.</summary>
    None = 0,

    /// <summary>Publish the task.</summary>
    Accept = 1,

    /// <summary>Refuse the request: 422, nothing published.</summary>
    Reject = 2,

    /// <summary>Acknowledge the request without a task: 200, nothing published.</summary>
    Ignore = 3,
}

/// <summary>The decision of <see cref="IWebhookSource{TRequest, TTask}.MapAsync"/>.</summary>
/// <typeparam name="TTask">The task type.</typeparam>
public readonly record struct WebhookMapping<TTask>
{
    private WebhookMapping(WebhookMappingResult result, TTask? task, string? reason)
    {
        Result = result;
        Task = task;
        Reason = reason;
    }

    /// <summary>What was decided.</summary>
    public WebhookMappingResult Result { get; }

    /// <summary>The task to publish (<see cref="WebhookMappingResult.Accept"/>).</summary>
    public TTask? Task { get; }

    /// <summary>Why the request was rejected or ignored; sent back in the answer's <c>detail</c>.</summary>
    public string? Reason { get; }

    /// <summary>Publishes <paramref name="task"/>; the request is answered 202 once the queue accepted it.</summary>
#pragma warning disable CA1000 // Static factories on the generic result type read best at the call site: WebhookMapping<Order>.Accept(order).
    public static WebhookMapping<TTask> Accept(TTask task) => new(WebhookMappingResult.Accept, task, null);

    /// <summary>Refuses the request with 422 and <paramref name="reason"/> as the problem's detail.</summary>
    public static WebhookMapping<TTask> Reject(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(WebhookMappingResult.Reject, default, reason);
    }

    /// <summary>Acknowledges the request with 200 without publishing anything (a ping, an event type the app does not need).</summary>
    public static WebhookMapping<TTask> Ignore(string? reason = null) => new(WebhookMappingResult.Ignore, default, reason);
#pragma warning restore CA1000
}

/// <summary>What a mapping method may know about the request besides its body's value.</summary>
public sealed class WebhookRequest
{
    private readonly IHeaderDictionary _headers;

    internal WebhookRequest(string sourceName, string eventId, string taskId, DateTimeOffset receivedAt, ReadOnlyMemory<byte> body, IHeaderDictionary headers)
    {
        SourceName = sourceName;
        EventId = eventId;
        TaskId = taskId;
        ReceivedAt = receivedAt;
        Body = body;
        _headers = headers;
    }

    /// <summary>The webhook source's name.</summary>
    public string SourceName { get; }

    /// <summary>The provider's event id (the idempotency key).</summary>
    public string EventId { get; }

    /// <summary>The id the task gets: <c>&lt;source&gt;:&lt;event id&gt;</c>.</summary>
    public string TaskId { get; }

    /// <summary>When the request arrived (the runtime's clock).</summary>
    public DateTimeOffset ReceivedAt { get; }

    /// <summary>The raw body, as it was signed. Valid only until the mapping method returns.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The value of a request header (several values joined with commas), or null.</summary>
    public string? GetHeader(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return _headers.TryGetValue(name, out var values) && values.Count > 0 ? values.ToString() : null;
    }
}
