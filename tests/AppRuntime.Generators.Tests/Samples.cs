namespace AppRuntime.Generators.Tests;

/// <summary>Input sources shared by the baseline, caching and compile tests.</summary>
internal static class Samples
{
    /// <summary>A realistic module: a durable queue, a pool, a source that observes outcomes, a handler, services,
    /// an imported service, a health contributor and a config section with nested, list and dictionary members.</summary>
    public const string OrdersModule = """
        using System;
        using System.Collections.Generic;
        using System.ComponentModel.DataAnnotations;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Logging;

        namespace Shop.Orders;

        public enum Priority { Low, Normal, High }

        public sealed record OrderLine(string Sku, int Quantity, decimal Price);

        public sealed record OrderPlaced(string OrderId, string Customer, DateTimeOffset PlacedAt, Priority Priority, IReadOnlyList<OrderLine> Lines)
        {
            public Dictionary<string, string> Tags { get; init; } = new();
            public Guid? CorrelationId { get; init; }
            public string? Note { get; set; }
        }

        public interface IPaymentGateway
        {
            ValueTask ChargeAsync(string orderId, decimal amount, CancellationToken cancellationToken);
        }

        public interface IOrderStore
        {
            ValueTask SaveAsync(OrderPlaced order, CancellationToken cancellationToken);
            int Count { get; }
        }

        [ApplicationModule("shop-orders")]
        [TaskQueue<OrderPlaced>("orders", Capacity = 500, VisibilityTimeoutSeconds = 120, Backend = "Redis")]
        [WorkerPool("orders", Workers = 4, MaxAttempts = 3, RetryDelayMilliseconds = 500, WorkersConfigKey = "Shop:Orders:Workers")]
        [ImportService(typeof(IPaymentGateway))]
        public static partial class OrdersModule;

        [Service(As = typeof(IOrderStore))]
        public sealed class InMemoryOrderStore : IOrderStore
        {
            private readonly List<OrderPlaced> _orders = new();
            public int Count { get { lock (_orders) return _orders.Count; } }
            public ValueTask SaveAsync(OrderPlaced order, CancellationToken cancellationToken)
            {
                lock (_orders) _orders.Add(order);
                return default;
            }
        }

        [Service(ServiceLifetime.Scoped)]
        public sealed class PricingService(ShopSettings settings)
        {
            public decimal Total(OrderPlaced order)
            {
                decimal total = 0;
                foreach (var line in order.Lines)
                    total += line.Price * line.Quantity;
                return total * (decimal)(1 - (settings.DiscountRate ?? 0));
            }
        }

        [TaskSource("orders")]
        public sealed class OrderFeed(ShopSettings settings, TimeProvider time) : ITaskSource<OrderPlaced>, ITaskOutcomeObserver<OrderPlaced>
        {
            public async Task RunAsync(ITaskSourceContext<OrderPlaced> context, CancellationToken cancellationToken)
            {
                var order = new OrderPlaced("o-1", "ada", time.GetUtcNow(), settings.DefaultPriority, new[] { new OrderLine("sku-1", 2, 9.5m) });
                await context.PublishAsync(order, cancellationToken: cancellationToken);
            }

            public ValueTask OnSucceededAsync(TaskEnvelope<OrderPlaced> envelope, CancellationToken cancellationToken) => default;

            public ValueTask OnDeadLetteredAsync(TaskEnvelope<OrderPlaced> envelope, string reason, CancellationToken cancellationToken) => default;
        }

        [TaskHandler("orders")]
        public sealed class OrderPlacedHandler(IOrderStore store, PricingService pricing, IPaymentGateway payments, ILogger<OrderPlacedHandler> logger)
            : ITaskHandler<OrderPlaced>
        {
            public async ValueTask HandleAsync(OrderPlaced task, TaskContext context, CancellationToken cancellationToken)
            {
                await payments.ChargeAsync(task.OrderId, pricing.Total(task), cancellationToken);
                await store.SaveAsync(task, cancellationToken);
                logger.LogInformation("Order {OrderId} stored", task.OrderId);
            }
        }

        [HealthContributor]
        public sealed class OrderStoreHealth(IOrderStore store) : IHealthContributor
        {
            public string Name => "order-store";
            public HealthScope Scope => HealthScope.Readiness;
            public ValueTask<HealthResult> CheckAsync(CancellationToken cancellationToken) =>
                ValueTask.FromResult(HealthResult.Healthy(store.Count + " orders"));
        }

        [ConfigSection("Shop:Orders")]
        public sealed partial class ShopSettings
        {
            [Required, Url]
            public required string ApiBaseUrl { get; init; }

            [Secret]
            public string? ApiKey { get; init; }

            [Range(1, 100)]
            public int BatchSize { get; init; } = 10;

            public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

            public Priority DefaultPriority { get; init; } = Priority.Normal;

            public double? DiscountRate { get; init; }

            [MinLength(1)]
            public List<string> Warehouses { get; init; } = new();

            public Dictionary<string, int> Limits { get; init; } = new();

            public SmtpSettings Smtp { get; init; } = new();

            public SmtpSettings[] Fallbacks { get; init; } = Array.Empty<SmtpSettings>();

            [EmailAddress]
            public string? Support { get; init; }

            [RegularExpression("[A-Z]{3}")]
            public string Currency { get; init; } = "EUR";

            public Uri? Callback { get; init; }
        }

        public sealed partial class SmtpSettings
        {
            public string Host { get; init; } = "localhost";

            [Range(1, 65535)]
            public int Port { get; init; } = 25;

            [Secret]
            public string? Password { get; init; }
        }
        """;

    /// <summary>
    /// Webhook sources: one whose body is the task (Standard Webhooks), one that maps a request type of its own to the task (GitHub,
    /// observing outcomes, with a dependency), and one with a custom HMAC reading its event id from the body.
    /// </summary>
    public const string HooksModule = """
        using System;
        using System.Text.Json.Serialization;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.Logging;

        namespace Shop.Hooks;

        public sealed record Payment([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("amount")] decimal Amount);

        public sealed class PushRequest
        {
            [JsonPropertyName("ref")]
            public string? Ref { get; set; }

            [JsonPropertyName("commits")]
            public int[] Commits { get; set; } = Array.Empty<int>();
        }

        public sealed record Build(string Ref, int Commits);

        [ApplicationModule("shop-hooks")]
        [TaskQueue<Payment>("payments", Backend = "Redis")]
        [TaskQueue<Build>("builds")]
        [WorkerPool("payments", Workers = 2)]
        [WorkerPool("builds")]
        public static partial class HooksModule;

        [WebhookSource("payments", Path = "/hooks/payments")]
        public sealed class PaymentHook : IWebhookSource<Payment>;

        [WebhookSource("payments", Name = "partner", Path = "/hooks/partner", Signature = WebhookSignature.Hmac, SignatureHeader = "X-Partner-Signature",
            SignatureEncoding = WebhookSignatureEncoding.Base64, SignaturePrefix = "sha256=", EventIdJsonPath = "id")]
        public sealed class PartnerHook : IWebhookSource<Payment>;

        [WebhookSource("builds", Path = "/hooks/github", Signature = WebhookSignature.GitHub)]
        public sealed class GitHubHook(ILogger<GitHubHook> logger) : IWebhookSource<PushRequest, Build>, ITaskOutcomeObserver<Build>
        {
            public ValueTask<WebhookMapping<Build>> MapAsync(PushRequest request, WebhookRequest webhook, CancellationToken cancellationToken) =>
                new(request.Ref is null ? WebhookMapping<Build>.Ignore("no ref") : WebhookMapping<Build>.Accept(new Build(request.Ref, request.Commits.Length)));

            public ValueTask OnSucceededAsync(TaskEnvelope<Build> envelope, CancellationToken cancellationToken)
            {
                logger.LogInformation("built {Ref}", envelope.Payload.Ref);
                return default;
            }

            public ValueTask OnDeadLetteredAsync(TaskEnvelope<Build> envelope, string reason, CancellationToken cancellationToken) => default;
        }

        [TaskHandler("payments")]
        public sealed class PaymentHandler : ITaskHandler<Payment>
        {
            public ValueTask HandleAsync(Payment task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        [TaskHandler("builds")]
        public sealed class BuildHandler : ITaskHandler<Build>
        {
            public ValueTask HandleAsync(Build task, TaskContext context, CancellationToken cancellationToken) => default;
        }
        """;

    public const string Unrelated = """
        namespace Shop.Orders;

        public static class Unrelated
        {
            public static int Value => 1;
        }
        """;
}
