using System.ComponentModel.DataAnnotations;

namespace AppRuntime;

/// <summary>
/// The configuration section <c>AppRuntime:Telemetry</c>, bound by the generated binder and validated with every other section
/// when the runtime starts. <see cref="AppRuntimeTelemetryExtensions.AddTelemetry"/> turns it into <see cref="AppRuntimeTelemetryOptions"/>.
/// </summary>
[ConfigSection(AppRuntimeTelemetryExtensions.SectionPath)]
public sealed partial class AppRuntimeTelemetrySettings
{
    /// <summary>The service name; <c>OTEL_SERVICE_NAME</c> wins when set, as in any OpenTelemetry app.</summary>
    public string? ServiceName { get; set; }

    /// <summary>Exporters to switch on, separated by <c>,</c>, <c>;</c> or spaces: <c>otlp</c>, <c>console</c>.</summary>
    [RegularExpression("(?i)\\s*((otlp|console)\\s*[,; ]?\\s*)*")]
    public string? Exporters { get; set; }

    /// <summary>Write spans, metrics and logs to the console.</summary>
    public bool Console { get; set; }

    /// <summary>Send logs through OpenTelemetry too (default true), so they carry trace and span ids.</summary>
    public bool Logs { get; set; } = true;

    /// <summary>How often metrics are exported (default 15 s).</summary>
    [TimeRange("00:00:00.100", "01:00:00")]
    public TimeSpan MetricExportInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The OTLP exporter: <c>AppRuntime:Telemetry:Otlp</c>.</summary>
    public AppRuntimeOtlpSettings Otlp { get; set; } = new();
}

/// <summary><c>AppRuntime:Telemetry:Otlp</c>.</summary>
public sealed partial class AppRuntimeOtlpSettings
{
    /// <summary>The collector's base address; null leaves it to <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>. Setting it switches OTLP on.</summary>
    [Url]
    public Uri? Endpoint { get; set; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c>; null leaves it to <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>.</summary>
    [RegularExpression("grpc|http/protobuf")]
    public string? Protocol { get; set; }
}
