using AppRuntime.Internal;

namespace AppRuntime;

/// <summary>
/// A webhook source as registered: what <see cref="WebhookSourceAttribute"/> declares. Generated code creates it; tests and hosts
/// composed by hand pass it to <see cref="WebhookAppRuntimeBuilderExtensions.AddWebhookSource{TTask}"/>.
/// </summary>
/// <param name="Name">The source name, also the configuration key <c>AppRuntime:Webhooks:Sources:&lt;name&gt;</c>.</param>
/// <param name="Queue">The queue the tasks go to.</param>
/// <param name="Path">The request path, such as <c>/hooks/payments</c>.</param>
public sealed record WebhookSourceDefinition(string Name, string Queue, string Path)
{
    /// <summary>The signature scheme.</summary>
    public WebhookSignature Signature { get; init; } = WebhookSignature.StandardWebhooks;

    /// <summary>The header of a <see cref="WebhookSignature.Hmac"/> signature.</summary>
    public string? SignatureHeader { get; init; }

    /// <summary>The encoding of a <see cref="WebhookSignature.Hmac"/> signature.</summary>
    public WebhookSignatureEncoding SignatureEncoding { get; init; } = WebhookSignatureEncoding.Hex;

    /// <summary>The prefix before a <see cref="WebhookSignature.Hmac"/> signature.</summary>
    public string? SignaturePrefix { get; init; }

    /// <summary>The header with the event id, instead of the scheme's.</summary>
    public string? EventIdHeader { get; init; }

    /// <summary>The JSON member with the event id (dotted names), instead of the scheme's.</summary>
    public string? EventIdJsonPath { get; init; }

    /// <summary>The header the event id is read from: <see cref="EventIdHeader"/>, else the scheme's, else null.</summary>
    public string? EffectiveEventIdHeader => EventIdHeader ?? (EventIdJsonPath is not null ? null : Signature switch
    {
        WebhookSignature.StandardWebhooks => "webhook-id",
        WebhookSignature.GitHub => "X-GitHub-Delivery",
        _ => null,
    });

    /// <summary>The JSON member the event id is read from: <see cref="EventIdJsonPath"/>, else the scheme's, else null.</summary>
    public string? EffectiveEventIdJsonPath => EventIdJsonPath ?? (EventIdHeader is not null ? null : Signature switch
    {
        WebhookSignature.Stripe => "id",
        _ => null,
    });

    /// <summary>True when the scheme needs secrets (every scheme but <see cref="WebhookSignature.None"/>).</summary>
    public bool NeedsSecrets => Signature != WebhookSignature.None;

    /// <summary>Checks the definition; throws an <see cref="ArgumentException"/> naming the problem.</summary>
    public void Validate()
    {
        if (!WebhookNames.IsValidSourceName(Name))
            throw new ArgumentException($"Webhook source name '{Name}' is invalid: {WebhookNames.SourceNameRule}.", nameof(Name));
        if (string.IsNullOrWhiteSpace(Queue))
            throw new ArgumentException($"Webhook source '{Name}' needs a queue.", nameof(Queue));
        if (WebhookPaths.Check(Path) is { } pathProblem)
            throw new ArgumentException($"Webhook source '{Name}': path '{Path}' is invalid: {pathProblem}.", nameof(Path));
        if (!Enum.IsDefined(Signature))
            throw new ArgumentException($"Webhook source '{Name}': unknown signature scheme {(int)Signature}.", nameof(Signature));
        if (WebhookNames.CheckSettings(Signature, SignatureHeader, SignaturePrefix, EventIdHeader, EventIdJsonPath) is { } problem)
            throw new ArgumentException($"Webhook source '{Name}': {problem}.");
    }
}
