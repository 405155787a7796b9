namespace AppRuntime;

/// <summary>How a webhook source checks that a request comes from its provider.</summary>
public enum WebhookSignature
{
    /// <summary>
    /// The Standard Webhooks specification (standardwebhooks.com): headers <c>webhook-id</c>, <c>webhook-timestamp</c> and
    /// <c>webhook-signature</c> (<c>v1,&lt;base64&gt;</c>, space separated), HMAC-SHA256 over <c>{id}.{timestamp}.{body}</c> with the
    /// base64 key of a <c>whsec_…</c> secret; the timestamp must be within the tolerance. The event id is <c>webhook-id</c>.
    /// </summary>
    StandardWebhooks = 0,

    /// <summary>
    /// GitHub: <c>X-Hub-Signature-256: sha256=&lt;hex&gt;</c>, HMAC-SHA256 over the body with the secret's UTF-8 bytes. The event id
    /// is <c>X-GitHub-Delivery</c>. GitHub sends no timestamp, so nothing limits a replay beyond the retention window.
    /// </summary>
    GitHub = 1,

    /// <summary>
    /// Stripe: <c>Stripe-Signature: t=&lt;unix&gt;,v1=&lt;hex&gt;[,v1=…]</c>, HMAC-SHA256 over <c>{t}.{body}</c> with the secret's
    /// UTF-8 bytes (the whole <c>whsec_…</c> string); <c>t</c> must be within the tolerance. The event id is the JSON member <c>id</c>.
    /// </summary>
    Stripe = 2,

    /// <summary>
    /// A custom HMAC-SHA256 over the body with the secret's UTF-8 bytes, in the header
    /// <see cref="WebhookSourceAttribute.SignatureHeader"/>, encoded as <see cref="WebhookSourceAttribute.SignatureEncoding"/>, after an
    /// optional <see cref="WebhookSourceAttribute.SignaturePrefix"/> (such as <c>sha256=</c>).
    /// </summary>
    Hmac = 3,

    /// <summary>No signature: any request is accepted. Only behind something that authenticates the sender (mTLS, a gateway).</summary>
    None = 4,
}

/// <summary>How the signature of <see cref="WebhookSignature.Hmac"/> is written in its header.</summary>
public enum WebhookSignatureEncoding
{
    /// <summary>Hexadecimal, either case.</summary>
    Hex = 0,

    /// <summary>Base64 (standard alphabet, padded).</summary>
    Base64 = 1,
}

/// <summary>
/// Declares a webhook source: an HTTP endpoint on the webhook listener (<c>AppRuntime:Webhooks:Urls</c>) whose signed requests
/// become tasks of <see cref="Queue"/>. The class implements <see cref="IWebhookSource{TTask}"/> (the JSON body is the task) or
/// <see cref="IWebhookSource{TRequest, TTask}"/> (a mapping method turns the body into the task, or rejects or ignores it). The
/// AppRuntime generator wires it without reflection. Secrets come from configuration:
/// <c>AppRuntime:Webhooks:Sources:&lt;name&gt;:Secrets:0</c>, <c>…:1</c>, ….
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class WebhookSourceAttribute(string queue) : Attribute
{
    /// <summary>The queue the tasks go to.</summary>
    public string Queue { get; } = queue;

    /// <summary>The source name (also its configuration key); the class name in kebab case when unset.</summary>
    public string? Name { get; set; }

    /// <summary>The request path, such as <c>/hooks/payments</c>; <c>/webhooks/&lt;name&gt;</c> when unset. Matched ignoring case.</summary>
    public string? Path { get; set; }

    /// <summary>The signature scheme (default <see cref="WebhookSignature.StandardWebhooks"/>).</summary>
    public WebhookSignature Signature { get; set; } = WebhookSignature.StandardWebhooks;

    /// <summary>The header that carries a <see cref="WebhookSignature.Hmac"/> signature (required for that scheme only).</summary>
    public string? SignatureHeader { get; set; }

    /// <summary>The encoding of a <see cref="WebhookSignature.Hmac"/> signature (default hex).</summary>
    public WebhookSignatureEncoding SignatureEncoding { get; set; } = WebhookSignatureEncoding.Hex;

    /// <summary>A prefix before a <see cref="WebhookSignature.Hmac"/> signature, such as <c>sha256=</c> (compared ignoring case).</summary>
    public string? SignaturePrefix { get; set; }

    /// <summary>
    /// The header that carries the provider's event id, instead of the scheme's (<c>webhook-id</c>, <c>X-GitHub-Delivery</c>).
    /// </summary>
    public string? EventIdHeader { get; set; }

    /// <summary>
    /// The JSON member of the body that carries the event id, as dotted member names (<c>id</c>, <c>event.id</c>), instead of the
    /// scheme's (Stripe: <c>id</c>). With neither this nor an id header (<see cref="WebhookSignature.Hmac"/>,
    /// <see cref="WebhookSignature.None"/>), the event id is the SHA-256 of the body.
    /// </summary>
    public string? EventIdJsonPath { get; set; }
}
