namespace AppRuntime.Internal;

/// <summary>How a webhook request ended. Each has a status code and a name used in details, metrics and spans.</summary>
internal enum WebhookOutcome
{
    /// <summary>202: the queue accepted the task.</summary>
    Accepted,

    /// <summary>200: the event id was published within the retention window; nothing published.</summary>
    Duplicate,

    /// <summary>200: the mapping method ignored the request.</summary>
    Ignored,

    /// <summary>401: a signature header is missing, malformed or matches no secret.</summary>
    RejectedSignature,

    /// <summary>401: the signature is right but its timestamp is outside the tolerance (a replay, or a skewed clock).</summary>
    RejectedStale,

    /// <summary>403: the client is outside the source's allowed networks.</summary>
    RejectedForbidden,

    /// <summary>413: the body is over the limit.</summary>
    RejectedTooLarge,

    /// <summary>415: the body is not declared as JSON.</summary>
    RejectedMediaType,

    /// <summary>400: the body is not valid JSON for the request type, or the event id is missing or invalid.</summary>
    RejectedMalformed,

    /// <summary>422: the mapping method rejected the request.</summary>
    RejectedMapping,

    /// <summary>405: not a POST.</summary>
    RejectedMethod,

    /// <summary>503: the source is paused, the runtime is starting or draining, the queue is full or its backend is down.</summary>
    Unavailable,

    /// <summary>500: the mapping method threw, or a bug.</summary>
    Failed,

    /// <summary>The client went away before the answer.</summary>
    Aborted,
}

internal static class WebhookOutcomes
{
    public const int Count = (int)WebhookOutcome.Aborted + 1;

    private static readonly string[] s_names =
    [
        "accepted", "duplicate", "ignored", "rejected.signature", "rejected.stale", "rejected.forbidden", "rejected.too_large",
        "rejected.media_type", "rejected.malformed", "rejected.mapping", "rejected.method", "unavailable", "failed", "aborted",
    ];

    public static string Name(this WebhookOutcome outcome) => s_names[(int)outcome];

    public static int Status(this WebhookOutcome outcome) => outcome switch
    {
        WebhookOutcome.Accepted => 202,
        WebhookOutcome.Duplicate or WebhookOutcome.Ignored => 200,
        WebhookOutcome.RejectedSignature or WebhookOutcome.RejectedStale => 401,
        WebhookOutcome.RejectedForbidden => 403,
        WebhookOutcome.RejectedTooLarge => 413,
        WebhookOutcome.RejectedMediaType => 415,
        WebhookOutcome.RejectedMalformed => 400,
        WebhookOutcome.RejectedMapping => 422,
        WebhookOutcome.RejectedMethod => 405,
        WebhookOutcome.Unavailable => 503,
        WebhookOutcome.Failed => 500,
        _ => 499,
    };
}
