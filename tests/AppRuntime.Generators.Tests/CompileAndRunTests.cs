using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Tests;

/// <summary>Layer (d): apps compiled in memory with the generator, loaded into a collectible context and run.</summary>
public sealed class CompileAndRunTests
{
    [Fact]
    public async Task Tasks_published_by_a_generated_source_flow_through_the_generated_handler_on_a_real_host()
    {
        var image = CompiledApp.Build("RunDemo", CompiledApp.RunReferences, ("App.cs", RunSamples.NumbersApp));
        using var app = CompiledApp.Load(image);

        var handled = await app.InvokeAsync<string[]>("RunDemo.Entry", "RunAsync");

        Assert.Equal(Enumerable.Range(1, 10).Select(i => $"n-{i}@numbers").Order(StringComparer.Ordinal), handled);
    }

    private const string ImportApp = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;

        namespace Imports;

        public interface IClock { DateTimeOffset Now { get; } }

        public sealed class FixedClock : IClock { public DateTimeOffset Now => DateTimeOffset.UnixEpoch; }

        public sealed record Tick(int N);

        [ApplicationModule("imports")]
        [TaskQueue<Tick>("ticks")]
        [WorkerPool("ticks")]
        [ImportService(typeof(IClock))]
        public static partial class ImportsModule;

        [TaskHandler("ticks")]
        public sealed class TickHandler(IClock clock) : ITaskHandler<Tick>
        {
            public ValueTask HandleAsync(Tick task, TaskContext context, CancellationToken cancellationToken) { _ = clock.Now; return default; }
        }

        public static class Entry
        {
            public static async Task<string> StartAsync(bool register)
            {
                var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.AddAppRuntime().AddImportsModule();
                if (register)
                    builder.Services.AddSingleton<IClock, FixedClock>();
                using var host = builder.Build();
                try
                {
                    await host.StartAsync();
                }
                catch (InvalidOperationException ex)
                {
                    return ex.Message;
                }
                var state = host.Services.GetRequiredService<RuntimeManager>().State.ToString();
                await host.StopAsync();
                return state;
            }
        }
        """;

    private const string NoPoolApp = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Hosting;

        namespace NoPool;

        public sealed record Ping(int N);

        [ApplicationModule("no-pool")]
        [TaskQueue<Ping>("pings")]
        public static partial class NoPoolModule;

        [Service]
        public sealed class Counter { public int Count; }

        [TaskHandler("pings")]
        public sealed class PingHandler(Counter counter) : ITaskHandler<Ping>
        {
            public ValueTask HandleAsync(Ping task, TaskContext context, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref counter.Count);
                return default;
            }
        }

        public static class Entry
        {
            public static async Task<string> RunAsync()
            {
                var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.AddAppRuntime().AddNoPoolModule();
                using var host = builder.Build();
                await host.StartAsync();
                var publisher = host.Services.GetRequiredService<ITaskPublisher<Ping>>();
                for (var i = 0; i < 3; i++)
                    await publisher.PublishAsync(new Ping(i));
                var counter = host.Services.GetRequiredService<Counter>();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (Volatile.Read(ref counter.Count) < 3 && DateTime.UtcNow < deadline)
                    await Task.Delay(10);
                var pools = string.Join(",", host.Services.GetRequiredService<RuntimeManager>().Supervisor.GetSnapshots().Select(p => p.Queue + " x" + p.DesiredWorkers));
                await host.StopAsync();
                return counter.Count + " handled; pools " + pools;
            }
        }
        """;

    [Fact]
    public async Task A_queue_with_a_handler_and_no_declared_pool_is_consumed_by_the_default_pool()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("NoPool", CompiledApp.RunReferences, ("NoPool.cs", NoPoolApp.Replace("using System;", "using System;\nusing System.Linq;", StringComparison.Ordinal))));

        var result = await app.InvokeAsync<string>("NoPool.Entry", "RunAsync");

        Assert.Equal("3 handled; pools pings x1", result);
    }

    [Fact]
    public async Task An_imported_service_nobody_registered_stops_the_start_naming_the_import_before_anything_runs()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Imports", CompiledApp.RunReferences, ("Imports.cs", ImportApp)));

        var error = await app.InvokeAsync<string>("Imports.Entry", "StartAsync", false);
        var started = await app.InvokeAsync<string>("Imports.Entry", "StartAsync", true);

        Assert.Contains("Module 'imports' imports Imports.IClock ([ImportService(typeof(IClock))]), but nothing registers it", error, StringComparison.Ordinal);
        Assert.Equal("Running", started);
    }

    [Fact]
    public async Task A_library_module_and_an_app_module_compose_in_one_host()
    {
        var library = CompiledApp.Build("Billing", CompiledApp.RunReferences, ("Billing.cs", RunSamples.BillingLibrary));
        var appImage = CompiledApp.Build("Shop", CompiledApp.RunReferences.Add(MetadataReference.CreateFromImage(library)), ("Shop.cs", RunSamples.ShopApp));
        using var app = CompiledApp.Load(appImage, library);

        var entries = await app.InvokeAsync<string[]>("Shop.Entry", "RunAsync");

        Assert.Equal(["invoice inv-1", "sale book"], entries);
    }

    [Fact]
    public async Task The_module_method_registers_everything_once_and_hands_the_worker_count_key_to_the_runtime()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Probe", CompiledApp.RunReferences, ("Probe.cs", RunSamples.ProbeApp), ("RecordingBuilder.cs", RunSamples.RecordingBuilder)));

        // The declared count is the default; the runtime binds the key (with every other configuration value) when it starts.
        var calls = await app.InvokeAsync<string[]>("Probe.Entry", "Registrations", "6");

        Assert.Equal(["module probe", "section Shop", "queue orders Redis", "pool orders x3 from Probe:Workers", "source order-source", "handler orders", "module probe"], calls);
    }

    [Fact]
    public async Task The_generated_task_serializer_round_trips_a_task_and_rejects_an_invalid_payload()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Probe", CompiledApp.RunReferences, ("Probe.cs", RunSamples.ProbeApp), ("RecordingBuilder.cs", RunSamples.RecordingBuilder)));

        var result = await app.InvokeAsync<string[]>("Probe.Entry", "RoundTrip");

        // System.Text.Json's default rules: CLR names as they are, enums as numbers (docs/serialization.md).
        Assert.Equal(
            """{"Id":"o-1","Priority":2,"PlacedAt":"2026-01-02T03:04:05+00:00","Lines":[{"Sku":"sku-1","Quantity":2,"Price":1.25}],"Counts":{"a":1},"Note":null,"Due":"00:05:00","Key":"6f9619ff-8b86-d011-b42d-00c04fc964ff","Codes":[7,8],"Link":"https://example.com/o/1"}""",
            result[0]);
        Assert.Equal(result[0], result[1]);
        Assert.Equal("True", result[2]);
        Assert.StartsWith("Payload is not a valid Probe.Order at $.Id (byte ", result[3], StringComparison.Ordinal);
        Assert.Equal(result[0], result[4]);
        Assert.Equal("True", result[5]);
    }

    [Fact]
    public async Task The_generated_binder_binds_every_supported_member_kind_and_keeps_defaults()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Probe", CompiledApp.RunReferences, ("Probe.cs", RunSamples.ProbeApp), ("RecordingBuilder.cs", RunSamples.RecordingBuilder)));

        var result = await app.InvokeAsync<string[]>("Probe.Entry", "Bind", (object)new[]
        {
            "Shop:ApiUrl=https://api.example.com", "Shop:Mode=fast", "Shop:Timeout=00:01:30", "Shop:Rate=1.5", "Shop:Factor=0.25",
            "Shop:Tenant=6f9619ff-8b86-d011-b42d-00c04fc964ff", "Shop:Enabled=true", "Shop:Hosts:0=a", "Shop:Hosts:1=b",
            "Shop:Ports:0=80", "Shop:Ports:1=443", "Shop:Limits:x=1", "Shop:Smtp:Host=mail", "Shop:Relays:0:Host=r1", "Shop:Relays:1:Port=2525",
        });

        Assert.Equal(
            "ApiUrl=https://api.example.com;BatchSize=10;Mode=Fast;Timeout=00:01:30;Rate=1.5;Factor=0.25;Tenant=6f9619ff-8b86-d011-b42d-00c04fc964ff;" +
            "Enabled=True;Hosts=a,b;Ports=80,443;Limits=x:1;Smtp=mail:25;Relays=r1:25,localhost:2525;Currency=EUR;Secrets=Pin,Smtp:Password",
            result[0]);
        Assert.Single(result);
    }

    [Fact]
    public async Task The_generated_binder_reports_every_error_with_its_full_key_path_and_hides_secret_values()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Probe", CompiledApp.RunReferences, ("Probe.cs", RunSamples.ProbeApp), ("RecordingBuilder.cs", RunSamples.RecordingBuilder)));

        var result = await app.InvokeAsync<string[]>("Probe.Entry", "Bind", (object)new[]
        {
            "Shop:ApiUrl=not a url", "Shop:BatchSize=500", "Shop:Mode=Turbo", "Shop:Timeout=soon", "Shop:Rate=1,5x", "Shop:Limits:x=NaN",
            "Shop:Smtp:Port=0", "Shop:Relays:0:Port=70000", "Shop:Email=nobody", "Shop:Currency=euro", "Shop:Pin=12ab", "Shop:Hosts:0=",
            "Shop:Grace=02:00:00", "Shop:Enabled=true",
        });

        Assert.Equal(
        [
            "Shop:ApiUrl: must be an absolute http, https or ftp URL.",
            "Shop:BatchSize: must be between 1 and 100.",
            "Shop:Currency: does not match the pattern [A-Z]{3}.",
            "Shop:Email: must be an email address.",
            "Shop:Grace: must be between 00:00:01 and 01:00:00.",
            "Shop:Limits:x: 'NaN' is not a valid Int32.",
            "Shop:Mode: 'Turbo' is not a valid value of Probe.Mode (case-insensitive name).",
            "Shop:Pin: the value is not a valid Int32.",
            "Shop:Ports: is required when Shop:Enabled is true.",
            "Shop:Rate: '1,5x' is not a valid Decimal.",
            "Shop:Relays:0:Port: must be between 1 and 65535.",
            "Shop:Smtp:Port: must be between 1 and 65535.",
            "Shop:Timeout: 'soon' is not a valid TimeSpan (e.g. 00:00:30).",
        ], result.Skip(1).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_missing_required_value_is_reported_with_its_key_path()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Probe", CompiledApp.RunReferences, ("Probe.cs", RunSamples.ProbeApp), ("RecordingBuilder.cs", RunSamples.RecordingBuilder)));

        var result = await app.InvokeAsync<string[]>("Probe.Entry", "Bind", (object)new[] { "Shop:BatchSize=5" });

        Assert.Equal(["Shop:ApiUrl: is required but missing."], result.Skip(1));
    }

    [Fact]
    public async Task DateOnly_and_TimeOnly_round_trip_in_a_durable_task_and_bind_from_configuration()
    {
        using var app = CompiledApp.Load(CompiledApp.Build("Dates", CompiledApp.RunReferences, ("Dates.cs", RunSamples.DatesApp), ("RecordingBuilder.cs", RunSamples.RecordingBuilder)));

        var result = await app.InvokeAsync<string[]>("Dates.Entry", "RoundTrip");
        // System.Text.Json's forms: ISO 8601 dates; times of day with seven fraction digits only when there is a fraction.
        Assert.Equal("""{"Day":"2026-12-05","At":"07:30:15.2500000","Until":null,"Slots":["08:00:00","23:59:59"]}""", result[0]);
        Assert.Equal("True", result[1]);
        Assert.StartsWith("Payload is not a valid Dates.Stamp at $.Day (byte ", result[2], StringComparison.Ordinal);

        Assert.Equal(["2026-01-01 07:00:00 -"], await app.InvokeAsync<string[]>("Dates.Entry", "Bind", (object)Array.Empty<string>()));
        Assert.Equal(["2026-03-29 06:15:00 2026-12-31"],
            await app.InvokeAsync<string[]>("Dates.Entry", "Bind", (object)new[] { "Calendar:Start=2026-03-29", "Calendar:At=06:15", "Calendar:End=2026-12-31" }));
        var errors = await app.InvokeAsync<string[]>("Dates.Entry", "Bind", (object)new[] { "Calendar:Start=29.03.2026", "Calendar:At=7pm" });
        Assert.Equal(
        [
            "Calendar:At: '7pm' is not a valid TimeOnly (HH:mm or HH:mm:ss, e.g. 07:30).",
            "Calendar:Start: '29.03.2026' is not a valid DateOnly (yyyy-MM-dd, e.g. 2030-01-31).",
        ], errors.Skip(1).Order(StringComparer.Ordinal));
    }
}
