using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using AppRuntime;
using AppRuntime.TestSupport;
using MailKit;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace MailOrderBot.Tests;

/// <summary>
/// Issue 10 in the Mail Order Bot: one email is one trace (publish → process), and OTEL_EXPORTER_OTLP_ENDPOINT alone exports the
/// bot's traces and metrics, flushed before a <c>--once</c> run exits.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BotTelemetryIntegrationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bot-otel-{Guid.NewGuid():N}");

    public BotTelemetryIntegrationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The bot composed as Program.cs composes it, with the given telemetry options and configuration on top.</summary>
    private IHost BuildBot(Dictionary<string, string?> config, Action<AppRuntimeTelemetryOptions>? telemetry)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var values = new Dictionary<string, string?>
        {
            ["MailOrderBot:Workers"] = "2",
            ["MailOrderBot:Store:Path"] = Path.Combine(_dir, "orders.db"),
            ["MailOrderBot:Folder:PollInterval"] = "00:00:00.100",
        };
        foreach (var (sku, settings) in TestData.Settings().Catalog)
        {
            values[$"MailOrderBot:Catalog:{sku}:Name"] = settings.Name;
            values[$"MailOrderBot:Catalog:{sku}:Price"] = settings.Price.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in config)
            values[key] = value;
        builder.Configuration.AddInMemoryCollection(values);
        builder.AddAppRuntime().AddRedisQueues().AddTelemetry(telemetry).AddMailOrderBotModule();
        return builder.Build();
    }

    private static async Task StopAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(timeout.Token);
        host.Dispose();
    }

    [Theory]
    [InlineData(SourceMode.Folder)]
    [InlineData(SourceMode.ImapPolling)]
    public async Task One_email_is_one_trace_from_the_source_publish_to_the_worker_process_span(SourceMode mode)
    {
        // Spans of other bots running in parallel in this test process reach this exporter too (ActivitySource listeners are
        // process-wide), so the email's spans are found by the task id its source gave it.
        string taskId;
        Dictionary<string, string?> config;
        var messageId = $"otel-{Guid.NewGuid():N}@test";
        var email = ImapTestServer.Message("Traced order", "SKU-1001 x 2\nName: Trace Buyer\n", messageId);
        if (mode == SourceMode.Folder)
        {
            var inbox = Path.Combine(_dir, "inbox");
            Directory.CreateDirectory(inbox);
            var file = $"traced-{Guid.NewGuid():N}.eml";
            await email.WriteToAsync(Path.Combine(inbox, file));
            taskId = "file:" + file;
            config = new() { ["MailOrderBot:Source:Mode"] = "Folder", ["MailOrderBot:Folder:Path"] = inbox };
        }
        else
        {
            await ImapTestServer.EnsureRunningAsync();
            var folder = await ImapTestServer.CreateFolderAsync("bototel");
            var uid = await ImapTestServer.AppendAsync(folder, email);
            taskId = AppRuntime.Mail.ImapMessage.CreateIdempotencyKey(uid.Validity, uid.Id);
            config = BotHost.ImapConfig(folder, mode);
        }

        var spans = new List<Activity>();
        var host = BuildBot(config, o => o.ConfigureTracing = t => t.AddInMemoryExporter(spans));
        await host.StartAsync();
        try
        {
            await Eventually.TrueAsync(() => Snapshot(spans).Any(s => s.OperationName == "process orders" && Id(s) == taskId),
                $"{mode}: the process span of the email was exported", TimeSpan.FromSeconds(30));
            Assert.Equal(1, host.Services.GetRequiredService<OrderStats>().Accepted);
        }
        finally
        {
            await StopAsync(host);
        }

        var all = Snapshot(spans);
        var ofEmail = all.Where(s => Id(s) == taskId).ToList();
        var publish = Assert.Single(ofEmail, s => s.OperationName == "publish orders");
        var process = Assert.Single(ofEmail, s => s.OperationName == "process orders");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(default, publish.ParentSpanId); // the root: the source publishes outside any other span
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Single(ofEmail.Select(s => s.TraceId).Distinct()); // ONE trace for the email

        // Everything in that trace (the handler's spans, if any) hangs under the process span, and nothing else is in it.
        var trace = all.Where(s => s.TraceId == publish.TraceId).ToList();
        var spanIds = trace.Select(s => s.SpanId).ToHashSet();
        Assert.All(trace.Where(s => s != publish), s => Assert.Contains(s.ParentSpanId, spanIds));
        Assert.All(trace.Where(s => s != publish && s != process), s => Assert.True(
            IsUnder(s, process, trace), $"span '{s.OperationName}' is not a descendant of the process span"));
        Assert.Equal(2, trace.Count(s => s.Source.Name == TraceService.SourceName && s.Kind is ActivityKind.Producer or ActivityKind.Consumer));

        Assert.Equal("orders", publish.GetTagItem("messaging.destination.name"));
        Assert.Equal("send", publish.GetTagItem("messaging.operation.type"));
        Assert.Equal("process", process.GetTagItem("messaging.operation.type"));
        Assert.NotEqual(ActivityStatusCode.Error, process.Status);
    }

    [Fact]
    public async Task The_otlp_endpoint_as_a_configuration_key_alone_exports_the_bots_traces_and_metrics()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var inbox = CopyDemoEmails(Path.Combine(_dir, "inbox"), "01-simple-order.eml", "02-quantity-first.eml", "13-unknown-sku.eml");
        var host = BuildBot(new()
        {
            ["MailOrderBot:Source:Mode"] = "Folder",
            ["MailOrderBot:Folder:Path"] = inbox,
            // Read exactly as the SDK reads the OTEL_* environment variables: through IConfiguration.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.BaseAddress,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        }, telemetry: null);
        await host.StartAsync();
        try
        {
            var stats = host.Services.GetRequiredService<OrderStats>();
            await Eventually.TrueAsync(() => stats.Accepted + stats.Rejected == 3, "the 3 emails are processed");
        }
        finally
        {
            await StopAsync(host); // the runtime's stop flushes every provider
        }

        receiver.AssertReceivedTheBotsTelemetry();
    }

    [Fact]
    public async Task The_real_bot_with_once_and_only_OTEL_EXPORTER_OTLP_ENDPOINT_exports_and_flushes_traces_and_metrics_before_it_exits()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var bot = BotDll();
        var inbox = CopyDemoEmails(Path.Combine(_dir, "inbox"), "01-simple-order.eml", "02-quantity-first.eml", "04-csv-attachment.eml", "13-unknown-sku.eml");

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir,
        };
        foreach (var arg in new[] { bot, "--once", $"--MailOrderBot:Folder:Path={inbox}", $"--MailOrderBot:Store:Path={Path.Combine(_dir, "orders.db")}" })
            start.ArgumentList.Add(arg);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("MailOrderBot__", StringComparison.Ordinal)
                     || k.StartsWith("AppRuntime__", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        start.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.BaseAddress;
        start.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the bot did not exit within 90 s with --once; stdout: {await stdout}");
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stdout: {output}; stderr: {await stderr}");
        Assert.True(output.Contains("this run: 3 accepted, 1 rejected", StringComparison.Ordinal),
            $"the summary line is missing or different; stdout:\n{output}\nstderr:\n{await stderr}");
        // Nothing is awaited here: what the receiver holds was posted before the process exited.
        receiver.AssertReceivedTheBotsTelemetry();
    }

    private static string BotDll()
    {
        var configuration = typeof(BotTelemetryIntegrationTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        // The tests reference the sample project, so building them builds the bot into its own bin folder.
        var dll = Path.Combine(ImapTestServer.FindRepoRoot(), "samples", "MailOrderBot", "bin", configuration, "net10.0", "MailOrderBot.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build it with: dotnet build -c {configuration} samples/MailOrderBot");
        return dll;
    }

    private static string CopyDemoEmails(string inbox, params string[] names)
    {
        Directory.CreateDirectory(inbox);
        foreach (var name in names)
            File.Copy(Path.Combine(AppContext.BaseDirectory, "demo-inbox", name), Path.Combine(inbox, name));
        return inbox;
    }

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
            return [.. spans];
    }

    private static string? Id(Activity span) => span.GetTagItem("messaging.message.id") as string;

    private static bool IsUnder(Activity span, Activity ancestor, List<Activity> trace)
    {
        for (var current = span; current is not null; current = trace.FirstOrDefault(s => s.SpanId == current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
                return true;
        }

        return false;
    }

    /// <summary>A stand-in OTLP/HTTP collector on real Kestrel (127.0.0.1, a free port) that keeps every body posted to each path.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, ConcurrentQueue<byte[]>> _bodies = new(StringComparer.Ordinal);

        private OtlpReceiver(WebApplication app) => _app = app;

        public string BaseAddress { get; private set; } = "";

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.Run(async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                receiver._bodies.GetOrAdd(context.Request.Path.Value ?? "", _ => new()).Enqueue(body.ToArray());
                context.Response.ContentType = "application/x-protobuf"; // an empty Export*ServiceResponse
            });
            await app.StartAsync();
            receiver.BaseAddress = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return receiver;
        }

        /// <summary>The bytes posted to a path, concatenated (protobuf strings are plain UTF-8 in them).</summary>
        public string Text(string path) =>
            _bodies.TryGetValue(path, out var bodies) ? string.Concat(bodies.Select(b => Encoding.UTF8.GetString(b))) : "";

        public void AssertReceivedTheBotsTelemetry()
        {
            var traces = Text("/v1/traces");
            var metrics = Text("/v1/metrics");
            Assert.True(traces.Length > 0, "nothing was posted to /v1/traces");
            Assert.True(metrics.Length > 0, "nothing was posted to /v1/metrics");
            Assert.Contains("publish orders", traces, StringComparison.Ordinal);
            Assert.Contains("process orders", traces, StringComparison.Ordinal);
            Assert.Contains("messaging.destination.name", traces, StringComparison.Ordinal);
            Assert.Contains("appruntime.tasks.processed", metrics, StringComparison.Ordinal);
            Assert.Contains("appruntime.tasks.published", metrics, StringComparison.Ordinal);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
