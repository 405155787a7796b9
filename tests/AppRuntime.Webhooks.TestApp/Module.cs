using System.Text.Json.Serialization;
using AppRuntime;
using StackExchange.Redis;

namespace WebhookTestApp;

public sealed record PaymentEvent([property: JsonPropertyName("test")] long Test);

public sealed record StripeEvent([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("object")] string Object);

public sealed record CustomEvent([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("kind")] string Kind);

public sealed class GitHubPush
{
    [JsonPropertyName("ref")]
    public string? Ref { get; set; }

    [JsonPropertyName("repository")]
    public GitHubRepository? Repository { get; set; }
}

public sealed class GitHubRepository
{
    [JsonPropertyName("full_name")]
    public string? FullName { get; set; }
}

public sealed record PushTask(string Repository, string Ref);

[ApplicationModule("webhook-test")]
[TaskQueue<PaymentEvent>("payments", Capacity = 5000, VisibilityTimeoutSeconds = 5)]
[TaskQueue<PushTask>("pushes")]
[TaskQueue<StripeEvent>("stripe")]
[TaskQueue<CustomEvent>("custom")]
[WorkerPool("payments", Workers = 8)]
[WorkerPool("pushes")]
[WorkerPool("stripe")]
[WorkerPool("custom")]
public static partial class WebhookTestModule;

/// <summary>The body is the task.</summary>
[WebhookSource("payments", Name = "payments", Path = "/hooks/payments")]
public sealed class PaymentWebhook : IWebhookSource<PaymentEvent>;

/// <summary>GitHub pushes become tasks; pings are ignored; a push without a ref is refused.</summary>
[WebhookSource("pushes", Name = "github", Path = "/hooks/github", Signature = WebhookSignature.GitHub)]
public sealed class GitHubWebhook : IWebhookSource<GitHubPush, PushTask>
{
    public ValueTask<WebhookMapping<PushTask>> MapAsync(GitHubPush request, WebhookRequest webhook, CancellationToken cancellationToken)
    {
        if (webhook.GetHeader("X-GitHub-Event") == "ping")
            return new(WebhookMapping<PushTask>.Ignore("ping"));
        if (string.IsNullOrEmpty(request.Ref))
            return new(WebhookMapping<PushTask>.Reject("A push needs a ref."));
        return new(WebhookMapping<PushTask>.Accept(new PushTask(request.Repository?.FullName ?? "?", request.Ref)));
    }
}

[WebhookSource("stripe", Name = "stripe", Path = "/hooks/stripe", Signature = WebhookSignature.Stripe)]
public sealed class StripeWebhook : IWebhookSource<StripeEvent>;

[WebhookSource("custom", Name = "custom", Path = "/hooks/custom", Signature = WebhookSignature.Hmac, SignatureHeader = "X-Signature",
    SignatureEncoding = WebhookSignatureEncoding.Base64, SignaturePrefix = "sha256=", EventIdJsonPath = "id")]
public sealed class CustomWebhook : IWebhookSource<CustomEvent>;

[ConfigSection("WebhookTestApp")]
public sealed partial class TestAppSettings
{
    /// <summary>The Redis the handlers write to (StackExchange.Redis configuration).</summary>
    public string Store { get; set; } = "127.0.0.1:6390";

    /// <summary>Keys: &lt;prefix&gt;:handled (task id → first delivery), &lt;prefix&gt;:deliveries and &lt;prefix&gt;:first-attempts (counts).</summary>
    public string StorePrefix { get; set; } = "webhook-test-app";

    /// <summary>How long a handler works, so that tasks are in flight when the process is killed.</summary>
    [TimeRange("00:00:00", "00:01:00")]
    public TimeSpan HandlerDelay { get; set; }
}

/// <summary>The handlers' store: one Redis connection of its own.</summary>
[Service]
public sealed class EventStore(TestAppSettings settings) : IDisposable
{
    // Never throws and reconnects by itself: a connect that fails once (a busy Redis at start) must not fail every later
    // delivery, as a Lazy that cached the first exception did (the restarted app then handled nothing).
    private readonly Lazy<ConnectionMultiplexer> _redis = new(() =>
    {
        var options = ConfigurationOptions.Parse(settings.Store);
        options.AbortOnConnectFail = false;
        return ConnectionMultiplexer.Connect(options);
    });

    public TimeSpan Delay => settings.HandlerDelay;

    /// <summary>
    /// Records a delivery in one MULTI/EXEC: the first one of a task id is kept in <c>handled</c> (HSETNX: one entry per task, whatever the redeliveries),
    /// every one is counted in <c>deliveries</c>, and first attempts (a task published once is delivered with attempt 1 once, unless
    /// its first delivery died with the process) in <c>first-attempts</c>.
    /// </summary>
    public async ValueTask RecordAsync(string value, TaskContext context)
    {
        var db = _redis.Value.GetDatabase();
        var prefix = settings.StorePrefix;
        // MULTI/EXEC, not a pipeline: a test that reads 'handled' must find the counts of the same delivery written too.
        var transaction = db.CreateTransaction();
        var handled = transaction.HashSetAsync(prefix + ":handled", context.TaskId, value, When.NotExists);
        var deliveries = transaction.HashIncrementAsync(prefix + ":deliveries", context.TaskId);
        var first = context.Attempt == 1 ? transaction.HashIncrementAsync(prefix + ":first-attempts", context.TaskId) : Task.FromResult(0L);
        if (!await transaction.ExecuteAsync())
            throw new InvalidOperationException("The delivery record was not written.");
        await Task.WhenAll(handled, deliveries, first);
    }

    public void Dispose()
    {
        if (_redis.IsValueCreated)
            _redis.Value.Dispose();
    }
}

[TaskHandler("payments")]
public sealed class PaymentHandler(EventStore store) : ITaskHandler<PaymentEvent>
{
    public async ValueTask HandleAsync(PaymentEvent task, TaskContext context, CancellationToken cancellationToken)
    {
        if (store.Delay > TimeSpan.Zero)
            await Task.Delay(store.Delay, cancellationToken);
        await store.RecordAsync(task.Test.ToString(System.Globalization.CultureInfo.InvariantCulture), context);
    }
}

[TaskHandler("pushes")]
public sealed class PushHandler(EventStore store) : ITaskHandler<PushTask>
{
    public ValueTask HandleAsync(PushTask task, TaskContext context, CancellationToken cancellationToken) => store.RecordAsync(task.Repository + " " + task.Ref, context);
}

[TaskHandler("stripe")]
public sealed class StripeHandler(EventStore store) : ITaskHandler<StripeEvent>
{
    public ValueTask HandleAsync(StripeEvent task, TaskContext context, CancellationToken cancellationToken) => store.RecordAsync(task.Id + " " + task.Object, context);
}

[TaskHandler("custom")]
public sealed class CustomHandler(EventStore store) : ITaskHandler<CustomEvent>
{
    public ValueTask HandleAsync(CustomEvent task, TaskContext context, CancellationToken cancellationToken) => store.RecordAsync(task.Id + " " + task.Kind, context);
}

/// <summary>The system clock, shifted.</summary>
internal sealed class ShiftedClock(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}
