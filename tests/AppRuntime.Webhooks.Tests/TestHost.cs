using AppRuntime.TestSupport;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Webhooks.Tests;

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

[JsonSerializable(typeof(PaymentEvent))]
[JsonSerializable(typeof(StripeEvent))]
[JsonSerializable(typeof(CustomEvent))]
[JsonSerializable(typeof(GitHubPush))]
[JsonSerializable(typeof(PushTask))]
internal sealed partial class TestJson : JsonSerializerContext;

/// <summary>What the handlers saw: every delivery by task id.</summary>
internal sealed class TaskStore
{
    public ConcurrentDictionary<string, object> Tasks { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> Deliveries { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, string?> TraceParents { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, handlers wait for it (the pool stays busy).</summary>
    public Task? Gate { get; set; }

    public async ValueTask RecordAsync(object task, TaskContext context, CancellationToken cancellationToken)
    {
        if (Gate is { } gate)
            await gate.WaitAsync(cancellationToken);
        Tasks[context.TaskId] = task;
        context.Headers.TryGetValue(TaskHeaders.TraceParent, out var traceParent);
        TraceParents[context.TaskId] = traceParent;
        Deliveries.AddOrUpdate(context.TaskId, 1, (_, n) => n + 1);
    }
}

internal sealed class StoreHandler<T>(TaskStore store) : ITaskHandler<T>
    where T : notnull
{
    public ValueTask HandleAsync(T task, TaskContext context, CancellationToken cancellationToken) => store.RecordAsync(task, context, cancellationToken);
}

/// <summary>GitHub pushes become <see cref="PushTask"/>s; pings are ignored; a push without a ref is refused.</summary>
internal sealed class GitHubMapping : IWebhookSource<GitHubPush, PushTask>
{
    public ValueTask<WebhookMapping<PushTask>> MapAsync(GitHubPush request, WebhookRequest webhook, CancellationToken cancellationToken)
    {
        if (webhook.GetHeader("X-GitHub-Event") == "ping")
            return new(WebhookMapping<PushTask>.Ignore("ping"));
        if (string.IsNullOrEmpty(request.Ref))
            return new(WebhookMapping<PushTask>.Reject("A push needs a ref."));
        if (request.Ref == "refs/heads/explode")
            throw new InvalidOperationException("the mapping method failed");
        return new(WebhookMapping<PushTask>.Accept(new PushTask(request.Repository?.FullName ?? "?", request.Ref)));
    }
}

/// <summary>A clock that runs with the system clock, shifted: signed timestamps of published vectors are then fresh.</summary>
internal sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
{
    public static OffsetTimeProvider At(long unixSeconds) => new(DateTimeOffset.FromUnixTimeSeconds(unixSeconds) + TimeSpan.FromSeconds(10) - DateTimeOffset.UtcNow);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + offset;
}

/// <summary>Options of one test host.</summary>
internal sealed record HostOptions
{
    public string Backend { get; init; } = "InMemory";

    public string RedisPrefix { get; init; } = "";

    public TimeProvider? Clock { get; init; }

    public int Capacity { get; init; } = 1000;

    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public bool ControlPlane { get; init; }

    public Dictionary<string, string?> Settings { get; init; } = [];

    public Action<IAppRuntimeBuilder>? Compose { get; init; }
}

/// <summary>
/// A real generic host with a runtime composed by hand through <see cref="IAppRuntimeBuilder"/> (as generated code would) and the
/// webhook listener on a free loopback port, talked to over real HTTP. Sources: payments (Standard Webhooks, the body is the task),
/// github (GitHub, mapped), stripe (Stripe), custom (custom HMAC, base64, event id from the body) and open (no signature).
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    public const string PaymentsSecret2 = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24hIQ==";

    private TestHost(IHost host, TaskStore store)
    {
        Host = host;
        Store = store;
    }

    public IHost Host { get; }

    public TaskStore Store { get; }

    public HttpClient Client { get; private set; } = null!;

    public Uri? ControlPlaneAddress { get; private set; }

    public static (IHost Host, TaskStore Store) Build(HostOptions? options = null)
    {
        options ??= new HostOptions();
        var store = new TaskStore();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        var values = new Dictionary<string, string?>
        {
            ["AppRuntime:Webhooks:Urls"] = "http://127.0.0.1:0",
            ["AppRuntime:Webhooks:Sources:payments:Secrets:0"] = Vectors.StandardWebhooks.Secret,
            ["AppRuntime:Webhooks:Sources:payments:Secrets:1"] = PaymentsSecret2,
            ["AppRuntime:Webhooks:Sources:github:Secrets:0"] = Vectors.GitHub.Secret,
            ["AppRuntime:Webhooks:Sources:stripe:Secrets:0"] = Vectors.Stripe.Secret,
            ["AppRuntime:Webhooks:Sources:custom:Secrets:0"] = Vectors.Custom.Secret,
            ["AppRuntime:DefaultBackend"] = options.Backend,
            ["AppRuntime:Redis:Configuration"] = RedisTestServer.Endpoint,
            ["AppRuntime:Redis:KeyPrefix"] = options.RedisPrefix.Length > 0 ? options.RedisPrefix : "webhooks-test",
            ["AppRuntime:ControlPlane:Urls"] = "http://127.0.0.1:0",
            ["AppRuntime:ControlPlane:Token"] = "test-token-0123456789abcdef",
        };
        foreach (var (key, value) in options.Settings)
            values[key] = value;
        builder.Configuration.AddInMemoryCollection(values);
        if (options.Clock is { } clock)
            builder.Services.AddSingleton(clock);
        var runtime = builder.Services.AddAppRuntime(builder.Configuration, o =>
        {
            o.DrainTimeout = options.DrainTimeout;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        if (options.Backend == "Redis")
            runtime.AddRedisQueues();
        Compose(runtime, store, options.Capacity);
        options.Compose?.Invoke(runtime);
        if (options.ControlPlane)
            runtime.AddControlPlane();
        return (builder.Build(), store);
    }

    public static void Compose(IAppRuntimeBuilder b, TaskStore store, int capacity = 1000)
    {
        b.AddQueue(new QueueDefinition("payments", "PaymentEvent") { Capacity = capacity }, new JsonTaskSerializer<PaymentEvent>(TestJson.Default.PaymentEvent));
        b.AddQueue(new QueueDefinition("pushes", "PushTask") { Capacity = capacity }, new JsonTaskSerializer<PushTask>(TestJson.Default.PushTask));
        b.AddQueue(new QueueDefinition("stripe", "StripeEvent") { Capacity = capacity }, new JsonTaskSerializer<StripeEvent>(TestJson.Default.StripeEvent));
        b.AddQueue(new QueueDefinition("custom", "CustomEvent") { Capacity = capacity }, new JsonTaskSerializer<CustomEvent>(TestJson.Default.CustomEvent));
        foreach (var queue in new[] { "payments", "pushes", "stripe", "custom" })
            b.AddWorkerPool(new WorkerPoolDefinition(queue) { Workers = 2 });
        b.AddHandler<PaymentEvent>("payments", _ => new StoreHandler<PaymentEvent>(store));
        b.AddHandler<PushTask>("pushes", _ => new StoreHandler<PushTask>(store));
        b.AddHandler<StripeEvent>("stripe", _ => new StoreHandler<StripeEvent>(store));
        b.AddHandler<CustomEvent>("custom", _ => new StoreHandler<CustomEvent>(store));

        b.AddWebhookSource(new WebhookSourceDefinition("payments", "payments", "/hooks/payments"), new JsonTaskSerializer<PaymentEvent>(TestJson.Default.PaymentEvent));
        b.AddWebhookSource(new WebhookSourceDefinition("github", "pushes", "/hooks/github") { Signature = WebhookSignature.GitHub },
            new JsonTaskSerializer<GitHubPush>(TestJson.Default.GitHubPush), _ => new GitHubMapping());
        b.AddWebhookSource(new WebhookSourceDefinition("stripe", "stripe", "/hooks/stripe") { Signature = WebhookSignature.Stripe },
            new JsonTaskSerializer<StripeEvent>(TestJson.Default.StripeEvent));
        b.AddWebhookSource(new WebhookSourceDefinition("custom", "custom", "/hooks/custom")
        {
            Signature = WebhookSignature.Hmac,
            SignatureHeader = "X-Signature",
            SignatureEncoding = WebhookSignatureEncoding.Base64,
            SignaturePrefix = "sha256=",
            EventIdJsonPath = "id",
        }, new JsonTaskSerializer<CustomEvent>(TestJson.Default.CustomEvent));
        b.AddWebhookSource(new WebhookSourceDefinition("open", "custom", "/hooks/open") { Signature = WebhookSignature.None },
            new JsonTaskSerializer<CustomEvent>(TestJson.Default.CustomEvent));
    }

    public static async Task<TestHost> StartAsync(HostOptions? options = null)
    {
        var (host, store) = Build(options);
        await host.StartAsync();
        // The runtime runs its sources right after it started: until a webhook source runs, its endpoint answers 503 (starting).
        var endpoints = host.Services.GetRequiredService<AppRuntime.Internal.WebhookRegistry>().Endpoints;
        await Eventually.TrueAsync(() => endpoints.All(e => e.IsAttached), "every webhook source runs", TimeSpan.FromSeconds(30));
        var result = new TestHost(host, store);
        result.Client = new HttpClient { BaseAddress = result.Server.Addresses.Single(), Timeout = TimeSpan.FromSeconds(30) };
        if (options?.ControlPlane == true)
            result.ControlPlaneAddress = host.Services.GetRequiredService<IControlPlaneServer>().Addresses.Single();
        return result;
    }

    public IWebhookServer Server => Host.Services.GetRequiredService<IWebhookServer>();

    public T Get<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => Client.SendAsync(request);

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>Asserts the status, and an RFC 7807 body for errors; returns the body.</summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        if (status >= 400)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(status, doc.RootElement.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("title").GetString()));
        }
        else
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }
        return doc.RootElement.Clone();
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        Client?.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await Host.StopAsync(cts.Token);
        }
        finally
        {
            Host.Dispose();
        }
    }
}

/// <summary>The redis-server of tests/infra/redis.sh.</summary>
internal static class RedisTestServer
{
    public static string Endpoint => Environment.GetEnvironmentVariable("APPRUNTIME_REDIS") is { Length: > 0 } e ? e : "127.0.0.1:6390";

    public static string NewPrefix() => "wh" + Guid.NewGuid().ToString("N")[..10];
}
