namespace AppRuntime.Generators.Tests;

/// <summary>Sources of small apps that the compile-and-run tests build with the generator and execute.</summary>
internal static class RunSamples
{
    /// <summary>A module whose source publishes numbered tasks into a queue consumed by a pool of two workers.</summary>
    public const string NumbersApp = """
        using System;
        using System.Collections.Concurrent;
        using System.Collections.Generic;
        using System.Linq;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.Configuration;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;
        using Microsoft.Extensions.Logging;

        namespace RunDemo;

        public sealed record Numbered(int Value, string Label);

        [ApplicationModule("run-demo")]
        [TaskQueue<Numbered>("numbers", Capacity = 100)]
        [WorkerPool("numbers", Workers = 2)]
        public static partial class RunDemoModule;

        [ConfigSection("RunDemo")]
        public sealed partial class RunDemoSettings
        {
            public required string Prefix { get; init; }
            public int Count { get; init; } = 10;
        }

        [Service]
        public sealed class Results
        {
            public ConcurrentQueue<string> Items { get; } = new();
            public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        [TaskSource("numbers")]
        public sealed class NumberSource(RunDemoSettings settings) : ITaskSource<Numbered>
        {
            public async Task RunAsync(ITaskSourceContext<Numbered> context, CancellationToken cancellationToken)
            {
                for (var i = 1; i <= settings.Count; i++)
                    await context.PublishAsync(new Numbered(i, settings.Prefix + i), cancellationToken: cancellationToken);
                context.ReportHealthy("done");
                await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        [TaskHandler("numbers")]
        public sealed class NumberHandler(Results results, IConfigSection<RunDemoSettings> settings, ILogger<NumberHandler> logger) : ITaskHandler<Numbered>
        {
            public ValueTask HandleAsync(Numbered task, TaskContext context, CancellationToken cancellationToken)
            {
                logger.LogInformation("handled {Label}", task.Label);
                results.Items.Enqueue(task.Label + "@" + context.Queue);
                if (results.Items.Count >= settings.Current.Count)
                    results.Done.TrySetResult();
                return default;
            }
        }

        public static class Entry
        {
            public static async Task<string[]> RunAsync()
            {
                var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["RunDemo:Prefix"] = "n-",
                    ["RunDemo:Count"] = "10",
                });
                builder.AddAppRuntime().AddRunDemoModule();
                using var host = builder.Build();
                await host.StartAsync();
                var results = host.Services.GetRequiredService<Results>();
                await results.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await host.StopAsync();
                return results.Items.Order(StringComparer.Ordinal).ToArray();
            }
        }
        """;

    /// <summary>A class library with its own module and a service the app imports.</summary>
    public const string BillingLibrary = """
        using System.Collections.Concurrent;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;

        namespace Billing;

        public sealed record Invoice(string Id, decimal Amount);

        [ApplicationModule("billing")]
        [TaskQueue<Invoice>("invoices")]
        [WorkerPool("invoices")]
        public static partial class BillingModule;

        [Service]
        public sealed class Ledger
        {
            public ConcurrentQueue<string> Entries { get; } = new();
        }

        [TaskHandler("invoices")]
        public sealed class InvoiceHandler(Ledger ledger) : ITaskHandler<Invoice>
        {
            public ValueTask HandleAsync(Invoice task, TaskContext context, CancellationToken cancellationToken)
            {
                ledger.Entries.Enqueue("invoice " + task.Id);
                return default;
            }
        }

        [TaskSource("invoices")]
        public sealed class InvoiceSource : ITaskSource<Invoice>
        {
            public async Task RunAsync(ITaskSourceContext<Invoice> context, CancellationToken cancellationToken)
            {
                await context.PublishAsync(new Invoice("inv-1", 10m), cancellationToken: cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        """;

    /// <summary>An app whose module imports the library's Ledger and publishes into its own queue.</summary>
    public const string ShopApp = """
        using System;
        using System.Linq;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Billing;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;

        namespace Shop;

        public sealed record Sale(string Item);

        [ApplicationModule("shop")]
        [TaskQueue<Sale>("sales")]
        [WorkerPool("sales")]
        [ImportService(typeof(Ledger))]
        public static partial class ShopModule;

        [TaskSource("sales")]
        public sealed class SaleSource : ITaskSource<Sale>
        {
            public async Task RunAsync(ITaskSourceContext<Sale> context, CancellationToken cancellationToken)
            {
                await context.PublishAsync(new Sale("book"), cancellationToken: cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        [TaskHandler("sales")]
        public sealed class SaleHandler(Ledger ledger) : ITaskHandler<Sale>
        {
            public ValueTask HandleAsync(Sale task, TaskContext context, CancellationToken cancellationToken)
            {
                ledger.Entries.Enqueue("sale " + task.Item);
                return default;
            }
        }

        public static class Entry
        {
            public static async Task<string[]> RunAsync()
            {
                var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                // The app composes the library's module and its own; calling one twice is harmless.
                builder.AddAppRuntime().AddBillingModule().AddShopModule().AddBillingModule();
                using var host = builder.Build();
                await host.StartAsync();
                var ledger = host.Services.GetRequiredService<Ledger>();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (ledger.Entries.Count < 2 && DateTime.UtcNow < deadline)
                    await Task.Delay(10);
                await host.StopAsync();
                return ledger.Entries.Order(StringComparer.Ordinal).ToArray();
            }
        }
        """;

    /// <summary>A module driven through a recording IAppRuntimeBuilder, to test the generated serializer and binder directly.</summary>
    public const string ProbeApp = """
        using System;
        using System.Collections.Generic;
        using System.ComponentModel.DataAnnotations;
        using System.Globalization;
        using System.Linq;
        using System.Text;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.Configuration;
        using Microsoft.Extensions.DependencyInjection;

        namespace Probe;

        public enum Priority { Low, Normal, High }

        public sealed record Line(string Sku, int Quantity, decimal Price);

        public sealed record Order(string Id, Priority Priority, DateTimeOffset PlacedAt, IReadOnlyList<Line> Lines, Dictionary<string, int> Counts)
        {
            public string? Note { get; init; }
            public TimeSpan? Due { get; init; }
            public Guid Key { get; set; }
            public long[] Codes { get; init; } = Array.Empty<long>();
            public Uri? Link { get; init; }
        }

        [ApplicationModule("probe")]
        [TaskQueue<Order>("orders", Backend = "Redis")]
        [WorkerPool("orders", Workers = 3, WorkersConfigKey = "Probe:Workers")]
        public static partial class ProbeModule;

        [TaskHandler("orders")]
        public sealed class OrderHandler : ITaskHandler<Order>
        {
            public ValueTask HandleAsync(Order task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        [TaskSource("orders")]
        public sealed class OrderSource : ITaskSource<Order>
        {
            public Task RunAsync(ITaskSourceContext<Order> context, CancellationToken cancellationToken) => Task.CompletedTask;
        }

        public enum Mode { Slow, Fast }

        [ConfigSection("Shop")]
        public sealed partial class ShopSettings
        {
            [Url]
            public required string ApiUrl { get; init; }
            [Range(1, 100)]
            public int BatchSize { get; init; } = 10;
            public Mode Mode { get; init; } = Mode.Slow;
            public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
            public decimal Rate { get; init; }
            public double? Factor { get; init; }
            public Guid Tenant { get; init; }
            public bool Enabled { get; init; }
            [MinLength(1)]
            public List<string> Hosts { get; init; } = new();
            public int[] Ports { get; init; } = Array.Empty<int>();
            public Dictionary<string, int> Limits { get; init; } = new();
            public SmtpSettings Smtp { get; init; } = new();
            public List<SmtpSettings> Relays { get; init; } = new();
            [EmailAddress]
            public string? Email { get; init; }
            [RegularExpression("[A-Z]{3}")]
            public string Currency { get; init; } = "EUR";
            [Secret]
            public int Pin { get; init; }
            [TimeRange("00:00:01", "01:00:00")]
            public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(30);

            // A rule across members, checked with the rest by the generated binder.
            partial void ValidateConfig(IConfigurationSection section, ConfigErrors errors)
            {
                if (Enabled && Ports.Length == 0)
                    errors.Add(section.GetSection("Ports").Path, "is required when " + section.GetSection("Enabled").Path + " is true.");
            }
        }

        public sealed partial class SmtpSettings
        {
            public string Host { get; init; } = "localhost";
            [Range(1, 65535)]
            public int Port { get; init; } = 25;
            [Secret]
            public string? Password { get; init; }
        }

        public static class Entry
        {
            public static string[] Registrations(string? workers)
            {
                var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Probe:Workers"] = workers }).Build();
                var builder = new RecordingBuilder { Configuration = config };
                builder.AddProbeModule();
                builder.AddProbeModule();
                return builder.Calls.ToArray();
            }

            public static string[] RoundTrip()
            {
                var builder = new RecordingBuilder();
                builder.AddProbeModule();
                var serializer = (TaskSerializer<Order>)builder.Serializers["orders"]!;
                var order = new Order("o-1", Priority.High, new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
                    new[] { new Line("sku-1", 2, 1.25m) }, new Dictionary<string, int> { ["a"] = 1 })
                {
                    Due = TimeSpan.FromMinutes(5),
                    Key = new Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
                    Codes = new long[] { 7, 8 },
                    Link = new Uri("https://example.com/o/1"),
                };
                var bytes = serializer.Serialize(order);
                var back = serializer.Deserialize(bytes);
                string invalid;
                try { serializer.Deserialize(Encoding.UTF8.GetBytes("{\"Id\": 5}")); invalid = "accepted"; }
                catch (TaskDeserializationException ex) { invalid = ex.Message; }
                // The per-thread buffer is reused: a payload of over 64 KiB, then the small one again, must not leave anything behind.
                var big = order with { Lines = Enumerable.Range(0, 3000).Select(i => new Line("sku-" + i, i, 0.5m)).ToList() };
                var bigBack = serializer.Deserialize(serializer.Serialize(big));
                var afterBig = serializer.Serialize(order);
                return new[]
                {
                    Encoding.UTF8.GetString(bytes),
                    Encoding.UTF8.GetString(serializer.Serialize(back)),
                    (back.Lines[0] == order.Lines[0] && back.Counts["a"] == 1 && back.Key == order.Key && back.Due == order.Due).ToString(),
                    invalid,
                    Encoding.UTF8.GetString(afterBig),
                    (bigBack.Lines.Count == 3000 && bigBack.Lines[2999] == big.Lines[2999]).ToString(),
                };
            }

            public static string[] Bind(string[] pairs)
            {
                var data = new Dictionary<string, string?>();
                foreach (var pair in pairs)
                {
                    var i = pair.IndexOf('=');
                    data[pair.Substring(0, i)] = pair.Substring(i + 1);
                }
                var config = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
                var builder = new RecordingBuilder();
                builder.AddProbeModule();
                var definition = (ConfigSectionDefinition<ShopSettings>)builder.Sections.Single();
                var errors = new ConfigErrors();
                var s = definition.Bind(config.GetSection(definition.Path), errors);
                var bound = string.Join(";", new[]
                {
                    "ApiUrl=" + s.ApiUrl, "BatchSize=" + s.BatchSize, "Mode=" + s.Mode, "Timeout=" + s.Timeout, "Rate=" + s.Rate.ToString(CultureInfo.InvariantCulture),
                    "Factor=" + s.Factor?.ToString(CultureInfo.InvariantCulture), "Tenant=" + s.Tenant, "Enabled=" + s.Enabled, "Hosts=" + string.Join(",", s.Hosts),
                    "Ports=" + string.Join(",", s.Ports), "Limits=" + string.Join(",", s.Limits.Select(p => p.Key + ":" + p.Value)),
                    "Smtp=" + s.Smtp.Host + ":" + s.Smtp.Port, "Relays=" + string.Join(",", s.Relays.Select(r => r.Host + ":" + r.Port)),
                    "Currency=" + s.Currency, "Secrets=" + string.Join(",", definition.SecretKeys),
                });
                return new[] { bound }.Concat(errors.Items.Select(e => e.ToString())).ToArray();
            }
        }
        """;

    /// <summary>Dates and times of day in a task of a durable queue and in a configuration section; compiled with <see cref="ProbeApp"/> (its RecordingBuilder).</summary>
    public const string DatesApp = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using System.Text;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.Configuration;

        namespace Dates;

        public sealed record Stamp(DateOnly Day, TimeOnly At, DateOnly? Until, List<TimeOnly> Slots);

        [ApplicationModule("dates")]
        [TaskQueue<Stamp>("stamps", Backend = "Redis")]
        public static partial class DatesModule;

        [TaskHandler("stamps")]
        public sealed class StampHandler : ITaskHandler<Stamp>
        {
            public ValueTask HandleAsync(Stamp task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        [ConfigSection("Calendar")]
        public sealed partial class CalendarSettings
        {
            public DateOnly Start { get; init; } = new DateOnly(2026, 1, 1);
            public TimeOnly At { get; init; } = new TimeOnly(7, 0);
            public DateOnly? End { get; init; }
        }

        public static class Entry
        {
            public static string[] RoundTrip()
            {
                var builder = new Probe.RecordingBuilder();
                builder.AddDatesModule();
                var serializer = (TaskSerializer<Stamp>)builder.Serializers["stamps"]!;
                var stamp = new Stamp(new DateOnly(2026, 12, 5), new TimeOnly(7, 30, 15, 250), null, new List<TimeOnly> { new TimeOnly(8, 0), new TimeOnly(23, 59, 59) });
                var json = Encoding.UTF8.GetString(serializer.Serialize(stamp));
                var back = serializer.Deserialize(serializer.Serialize(stamp));
                string invalid;
                try { serializer.Deserialize(Encoding.UTF8.GetBytes("{\"Day\":\"05.12.2026\"}")); invalid = "accepted"; }
                catch (TaskDeserializationException ex) { invalid = ex.Message; }
                return new[] { json, (back.Day == stamp.Day && back.At == stamp.At && back.Until is null && back.Slots.SequenceEqual(stamp.Slots)).ToString(), invalid };
            }

            public static string[] Bind(string[] pairs)
            {
                var data = pairs.Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => (string?)p[1]);
                var config = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
                var builder = new Probe.RecordingBuilder();
                builder.AddDatesModule();
                var definition = (ConfigSectionDefinition<CalendarSettings>)builder.Sections.Single();
                var errors = new ConfigErrors();
                var s = definition.Bind(config.GetSection(definition.Path), errors);
                return new[] { s.Start.ToString("yyyy-MM-dd") + " " + s.At.ToString("HH:mm:ss") + " " + (s.End?.ToString("yyyy-MM-dd") ?? "-") }
                    .Concat(errors.Items.Select(e => e.ToString())).ToArray();
            }
        }
        """;

    /// <summary>An <see cref="AppRuntime.IAppRuntimeBuilder"/> that records what a generated module method registers (namespace Probe), compiled beside a sample.</summary>
    public const string RecordingBuilder = """
        using System;
        using System.Collections.Generic;
        using AppRuntime;
        using Microsoft.Extensions.Configuration;
        using Microsoft.Extensions.DependencyInjection;

        namespace Probe;

        public sealed class RecordingBuilder : IAppRuntimeBuilder
        {
            private readonly HashSet<string> _modules = new();
            public IServiceCollection Services { get; } = new ServiceCollection();
            public IConfiguration Configuration { get; init; } = new ConfigurationBuilder().Build();
            public List<string> Calls { get; } = new();
            public Dictionary<string, object?> Serializers { get; } = new();
            public List<WorkerPoolDefinition> Pools { get; } = new();
            public List<object> Sections { get; } = new();
            public bool AddModule(ModuleTopology topology) { Calls.Add("module " + topology.Module); return _modules.Add(topology.Module); }
            public IAppRuntimeBuilder AddQueue<T>(QueueDefinition definition, TaskSerializer<T>? serializer = null) { Calls.Add("queue " + definition.Name + " " + definition.Backend); Serializers[definition.Name] = serializer; return this; }
            public IAppRuntimeBuilder AddWorkerPool(WorkerPoolDefinition definition) { Calls.Add("pool " + definition.Queue + " x" + definition.Workers + (definition.WorkersConfigKey is { } key ? " from " + key : "")); Pools.Add(definition); return this; }
            public IAppRuntimeBuilder AddHandler<T>(string queue, Func<IServiceProvider, ITaskHandler<T>> factory) { Calls.Add("handler " + queue); return this; }
            public IAppRuntimeBuilder AddSource<T>(SourceDefinition definition, Func<IServiceProvider, ITaskSource<T>> factory) { Calls.Add("source " + definition.Name); return this; }
            public IAppRuntimeBuilder AddOutcomeObserver<T>(string queue, Func<IServiceProvider, ITaskOutcomeObserver<T>> factory) { Calls.Add("observer " + queue); return this; }
            public IAppRuntimeBuilder AddConfigSection<T>(ConfigSectionDefinition<T> definition) where T : class { Calls.Add("section " + definition.Path); Sections.Add(definition); return this; }
            public IAppRuntimeBuilder AddHealthContributor(Func<IServiceProvider, IHealthContributor> factory) { Calls.Add("health"); return this; }
            public IAppRuntimeBuilder AddConfigProvider(IConfigProvider provider) => this;
        }
        """;
}
