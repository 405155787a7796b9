using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AppRuntime;

/// <summary>Settings of <see cref="AppRuntimeTelemetryExtensions.AddTelemetry"/> (configuration section <c>AppRuntime:Telemetry</c>).</summary>
public sealed class AppRuntimeTelemetryOptions
{
    /// <summary>The service name (<c>AppRuntime:Telemetry:ServiceName</c>); <c>OTEL_SERVICE_NAME</c> wins when set, as in any OpenTelemetry app.</summary>
    public string? ServiceName { get; set; }

    /// <summary>Export over OTLP. Null: on when <c>AppRuntime:Telemetry:Otlp:Endpoint</c> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, or <c>Exporters</c> names <c>otlp</c>.</summary>
    public bool? Otlp { get; set; }

    /// <summary>The OTLP collector's base address (<c>AppRuntime:Telemetry:Otlp:Endpoint</c>); null leaves it to <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The OTLP protocol (<c>AppRuntime:Telemetry:Otlp:Protocol</c>: <c>grpc</c> or <c>http/protobuf</c>); null leaves it to <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>.</summary>
    public OtlpExportProtocol? OtlpProtocol { get; set; }

    /// <summary>Write spans, metrics and logs to the console (<c>AppRuntime:Telemetry:Console</c>, or <c>console</c> in <c>Exporters</c>).</summary>
    public bool Console { get; set; }

    /// <summary>Send logs through OpenTelemetry too (on by default), so they carry trace and span ids.</summary>
    public bool Logs { get; set; } = true;

    /// <summary>How often metrics are exported (<c>AppRuntime:Telemetry:MetricExportInterval</c>).</summary>
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>More tracing set-up (extra sources, exporters, samplers).</summary>
    public Action<TracerProviderBuilder>? ConfigureTracing { get; set; }

    /// <summary>More metrics set-up.</summary>
    public Action<MeterProviderBuilder>? ConfigureMetrics { get; set; }

    /// <summary>More logging set-up.</summary>
    public Action<LoggerProviderBuilder>? ConfigureLogging { get; set; }
}
