using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AppRuntime;

/// <summary>Subscribes OpenTelemetry providers to AppRuntime's ActivitySource and Meter.</summary>
public static class AppRuntimeInstrumentationExtensions
{
    /// <summary>Adds the <c>AppRuntime</c> ActivitySource (publish, process and application spans).</summary>
    public static TracerProviderBuilder AddAppRuntimeInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(TraceService.SourceName);
    }

    /// <summary>Adds the <c>AppRuntime</c> Meter (task counters, processing duration, queue and worker gauges, source events).</summary>
    public static MeterProviderBuilder AddAppRuntimeInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(TraceService.SourceName);
    }
}

/// <summary>One-line OpenTelemetry set-up for an AppRuntime application.</summary>
public static class AppRuntimeTelemetryExtensions
{
    /// <summary>The configuration section of the telemetry settings (<see cref="AppRuntimeTelemetrySettings"/>).</summary>
    public const string SectionPath = "AppRuntime:Telemetry";

    /// <summary>
    /// Wires traces, metrics and logs: the AppRuntime source and meter, a resource with the service name, OTLP and console
    /// exporters chosen by configuration (<c>AppRuntime:Telemetry</c>) and the standard <c>OTEL_*</c> environment variables,
    /// trace and span ids on every log record, and a flush of everything when the runtime stops. When configuration names no
    /// exporter and <paramref name="configure"/> sets no tracing, metrics or logging callback, no OpenTelemetry SDK is added
    /// (nothing would be exported): a bare listener creates the runtime's activities with their ids only, so log records and the
    /// control plane's recent traces still carry trace ids; the settings are still validated.
    /// </summary>
    public static IAppRuntimeBuilder AddTelemetry(this IAppRuntimeBuilder builder, Action<AppRuntimeTelemetryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var configuration = builder.Configuration;
        // Exporters are wired now, from the values at hand; the section is declared too, so that a bad value fails the start
        // with every other configuration error (and the wiring made from it never runs).
        AppRuntimeRegistration.AddConfigSection(builder, new ConfigSectionDefinition<AppRuntimeTelemetrySettings>(SectionPath, AppRuntimeTelemetrySettings.BindConfigSection)
        {
            SecretKeys = AppRuntimeTelemetrySettings.ConfigSecretKeys,
        });
        var options = ToOptions(AppRuntimeTelemetrySettings.BindConfigSection(configuration.GetSection(SectionPath), new ConfigErrors()));
        configure?.Invoke(options);
        var otlp = options.Otlp ?? (options.OtlpEndpoint is not null || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]));

        var services = builder.Services;
        services.Configure<LoggerFactoryOptions>(o => o.ActivityTrackingOptions |= ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

        // The providers are flushed when the runtime stops: these, or ones the application registered itself.
        services.AddSingleton<IHostedService>(sp => new TelemetryFlush(
            sp.GetRequiredService<TraceService>(), sp.GetService<TracerProvider>(), sp.GetService<MeterProvider>(), sp.GetService<LoggerProvider>()));

        // No exporter and no custom wiring: nothing would leave the process, so no SDK is added. An SDK without exporters still
        // records every span with all its data, and costs start-up time and memory (its self-diagnostics alone wait on a
        // cancelled task at exit, which renders a stack trace of the whole native binary). A bare listener keeps what is used
        // locally: trace and span ids on log records and in the control plane's recent traces (activities created with their
        // ids only, no tags, nothing recorded).
        if (!otlp && !options.Console && options.ConfigureTracing is null && options.ConfigureMetrics is null && options.ConfigureLogging is null)
        {
            services.AddSingleton<IHostedService, TraceIdListener>();
            return builder;
        }

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(r =>
            {
                if (options.ServiceName is { Length: > 0 } name && string.IsNullOrEmpty(configuration["OTEL_SERVICE_NAME"]))
                    r.AddService(name);
            })
            .WithTracing(t =>
            {
                t.AddAppRuntimeInstrumentation();
                if (otlp)
                    t.AddOtlpExporter(o => Apply(o, options, "v1/traces"));
                if (options.Console)
                    t.AddConsoleExporter();
                options.ConfigureTracing?.Invoke(t);
            })
            .WithMetrics(m =>
            {
                m.AddAppRuntimeInstrumentation();
                if (otlp)
                {
                    m.AddOtlpExporter((o, reader) =>
                    {
                        Apply(o, options, "v1/metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.MetricExportInterval.TotalMilliseconds;
                    });
                }
                if (options.Console)
                {
                    m.AddConsoleExporter((_, reader) =>
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)options.MetricExportInterval.TotalMilliseconds);
                }
                options.ConfigureMetrics?.Invoke(m);
            });
        if (options.Logs)
        {
            otel.WithLogging(l =>
            {
                if (otlp)
                    l.AddOtlpExporter(o => Apply(o, options, "v1/logs"));
                if (options.Console)
                    l.AddConsoleExporter();
                options.ConfigureLogging?.Invoke(l);
            }, o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
            });
        }

        return builder;
    }

    private static void Apply(OtlpExporterOptions exporter, AppRuntimeTelemetryOptions options, string signalPath)
    {
        if (options.OtlpProtocol is { } protocol)
            exporter.Protocol = protocol;
        if (options.OtlpEndpoint is { } endpoint)
        {
            // gRPC takes the collector's base address; http/protobuf takes the signal's own path.
            exporter.Endpoint = exporter.Protocol == OtlpExportProtocol.HttpProtobuf
                ? new Uri(endpoint, endpoint.AbsolutePath.EndsWith('/') ? signalPath : endpoint.AbsolutePath + "/" + signalPath)
                : endpoint;
        }
    }

    private static AppRuntimeTelemetryOptions ToOptions(AppRuntimeTelemetrySettings settings)
    {
        var exporters = (settings.Exporters ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new AppRuntimeTelemetryOptions
        {
            ServiceName = settings.ServiceName,
            Otlp = exporters.Contains("otlp", StringComparer.OrdinalIgnoreCase) ? true : null,
            Console = settings.Console || exporters.Contains("console", StringComparer.OrdinalIgnoreCase),
            Logs = settings.Logs,
            MetricExportInterval = settings.MetricExportInterval,
            OtlpEndpoint = settings.Otlp.Endpoint is { IsAbsoluteUri: true } endpoint ? endpoint : null,
            OtlpProtocol = settings.Otlp.Protocol switch
            {
                "grpc" => OtlpExportProtocol.Grpc,
                "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
                _ => null,
            },
        };
    }

    /// <summary>Registers a flush of every provider with the runtime, which calls it as the last step of a graceful stop.</summary>
    /// <summary>
    /// Creates the runtime's activities with their ids only (no tags, not recorded) until the host is disposed. It listens from
    /// its construction: the host builds every hosted service before it starts any, so the runtime's (registered first) finds
    /// the listener in place when its sources publish.
    /// </summary>
    private sealed class TraceIdListener : IHostedService, IDisposable
    {
        private readonly ActivityListener _listener = new()
        {
            ShouldListenTo = static source => source.Name == TraceService.SourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            SampleUsingParentId = static (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.PropagationData,
        };

        public TraceIdListener() => ActivitySource.AddActivityListener(_listener);

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _listener.Dispose();
    }

    private sealed class TelemetryFlush(TraceService trace, TracerProvider? tracer, MeterProvider? meter, LoggerProvider? logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            trace.RegisterFlush(_ =>
            {
                tracer?.ForceFlush();
                meter?.ForceFlush();
                logger?.ForceFlush();
                return ValueTask.CompletedTask;
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
