using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AppRuntime.Internal;

/// <summary>
/// The listener's instruments, on a Meter named <c>AppRuntime</c> like the runtime's own (exporters subscribe by that name, so
/// <c>AddAppRuntimeInstrumentation()</c> exports these too): every request counted by source, outcome and status, and the time to
/// answer it.
/// </summary>
internal sealed class WebhookMetrics : IDisposable
{
    public const string MeterName = "AppRuntime";
    public const string OutcomeTag = "appruntime.webhook.outcome";
    public const string StatusTag = "http.response.status_code";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public WebhookMetrics()
    {
        _meter = new Meter(MeterName, typeof(WebhookMetrics).Assembly.GetName().Version?.ToString());
        _requests = _meter.CreateCounter<long>("appruntime.webhook.requests", "{request}",
            "Webhook requests by source and outcome (accepted, duplicate, ignored, rejected.*, unavailable, failed, not_found).");
        _duration = _meter.CreateHistogram<double>("appruntime.webhook.duration", "s", "Time from a webhook request's start to its answer.");
    }

    /// <summary>True when somebody records the duration, so the caller may skip taking timestamps.</summary>
    public bool TimesRequests => _duration.Enabled;

    public void Record(string? source, string outcome, int status, long startTimestamp)
    {
        if (!_requests.Enabled && !_duration.Enabled)
            return;
        var tags = new TagList
        {
            { TelemetryTagNames.Source, source ?? "" },
            { OutcomeTag, outcome },
            { StatusTag, status },
        };
        _requests.Add(1, tags);
        if (_duration.Enabled && startTimestamp != 0)
            _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>Attribute names shared with the runtime's telemetry (AppRuntime.Core's TelemetryTags), spelt out here because adapters do not reference Core.</summary>
internal static class TelemetryTagNames
{
    public const string Source = "appruntime.source";
    public const string MessageId = "messaging.message.id";
}
