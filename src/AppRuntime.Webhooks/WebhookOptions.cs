using System.ComponentModel.DataAnnotations;

namespace AppRuntime;

/// <summary>
/// Settings of the webhook listener and its sources: the configuration section <c>AppRuntime:Webhooks</c>, bound by the generated
/// binder and validated with every other section when the runtime starts. <see cref="Enabled"/>, <see cref="Urls"/>,
/// <see cref="Certificate"/>, <see cref="KnownProxies"/> and <see cref="MaxConnections"/> are read when the listener starts; the
/// rest (secrets included) follow configuration reloads, so a secret can be rotated without a restart.
/// </summary>
[ConfigSection(WebhookAppRuntimeBuilderExtensions.SectionPath)]
public sealed partial class WebhookOptions
{
    /// <summary>The default listen address: loopback only (put a proxy in front, or listen on a public address explicitly).</summary>
    public const string DefaultUrls = "http://127.0.0.1:5090";

    /// <summary>Switches the listener on or off (key <c>AppRuntime:Webhooks:Enabled</c>, default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Listen addresses, separated by <c>;</c> (key <c>AppRuntime:Webhooks:Urls</c>, default <see cref="DefaultUrls"/>).
    /// <c>https://</c> addresses need <see cref="Certificate"/>. Port 0 picks a free port (see <see cref="IWebhookServer.Addresses"/>).
    /// </summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>The largest request body in bytes (default 1 MiB); a larger one is answered 413 without being read.</summary>
    [Range(1, 1024 * 1024 * 1024)]
    public long MaxBodySize { get; set; } = 1024 * 1024;

    /// <summary>How long an event id is remembered: a redelivery within it is answered 200 and publishes nothing (default 24 h).</summary>
    [TimeRange("00:00:01", "400.00:00:00")]
    public TimeSpan RetentionWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How far a signed timestamp (Standard Webhooks, Stripe) may be from the clock, either way (default 5 min).</summary>
    [TimeRange("00:00:01", "7.00:00:00")]
    public TimeSpan Tolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a request may wait for the queue to accept its task (a full queue, a slow or unreachable backend) before it is
    /// answered 503 (default 5 s).
    /// </summary>
    [TimeRange("00:00:00.001", "00:05:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>Retry-After</c> of a 503 answer, in whole seconds (default 5 s).</summary>
    [TimeRange("00:00:01", "01:00:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When true, a request's <c>traceparent</c> becomes the parent of its server span; when false (default) every request starts a
    /// new trace, because the endpoint faces the internet and a caller must not choose trace ids or sampling.
    /// </summary>
    public bool TrustTraceContext { get; set; }

    /// <summary>
    /// Addresses of reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed (keys
    /// <c>AppRuntime:Webhooks:KnownProxies:0</c>, …): the client address of logs, spans and <see cref="WebhookSourceSettings.AllowedNetworks"/>
    /// is then the forwarded one. Empty (default): the headers are ignored.
    /// </summary>
#pragma warning disable CA2227, CA1002 // Bound by the generated configuration binder, which assigns a List<T>.
    public List<string> KnownProxies { get; set; } = [];
#pragma warning restore CA2227, CA1002

    /// <summary>The most connections served at once (default: no limit). Further connections wait in the kernel's backlog.</summary>
    [Range(1, 1_000_000)]
    public int? MaxConnections { get; set; }

    /// <summary>The TLS certificate for <c>https://</c> addresses.</summary>
    public WebhookCertificateSettings? Certificate { get; set; }

    /// <summary>
    /// Per-source settings by source name (keys <c>AppRuntime:Webhooks:Sources:&lt;name&gt;:…</c>): secrets, and overrides of the
    /// limits above. A name that no declared source has is a configuration error.
    /// </summary>
#pragma warning disable CA2227 // Bound by the generated configuration binder.
    public Dictionary<string, WebhookSourceSettings> Sources { get; set; } = new(StringComparer.OrdinalIgnoreCase);
#pragma warning restore CA2227
}

/// <summary>The settings of one webhook source: the section <c>AppRuntime:Webhooks:Sources:&lt;name&gt;</c>.</summary>
public sealed partial class WebhookSourceSettings
{
    /// <summary>
    /// The signing secrets (keys <c>…:Secrets:0</c>, <c>…:Secrets:1</c>, …). A request signed with any of them is accepted, so a new
    /// secret can be added before the provider switches to it and the old one removed afterwards. Standard Webhooks secrets are
    /// <c>whsec_</c> + base64; the other schemes use the text as it is. Secret: never shown or logged.
    /// </summary>
    [Secret]
#pragma warning disable CA2227, CA1002 // Bound by the generated configuration binder, which assigns a List<T>.
    public List<string> Secrets { get; set; } = [];

    /// <summary>Client networks allowed to call this source, in CIDR notation (<c>192.30.252.0/22</c>); empty (default): any.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
#pragma warning restore CA2227, CA1002

    /// <summary>Overrides <see cref="WebhookOptions.MaxBodySize"/> for this source.</summary>
    [Range(1, 1024 * 1024 * 1024)]
    public long? MaxBodySize { get; set; }

    /// <summary>Overrides <see cref="WebhookOptions.RetentionWindow"/> for this source.</summary>
    [TimeRange("00:00:01", "400.00:00:00")]
    public TimeSpan? RetentionWindow { get; set; }

    /// <summary>Overrides <see cref="WebhookOptions.Tolerance"/> for this source.</summary>
    [TimeRange("00:00:01", "7.00:00:00")]
    public TimeSpan? Tolerance { get; set; }
}

/// <summary>
/// The certificate of the webhook listener's <c>https://</c> addresses (section <c>AppRuntime:Webhooks:Certificate</c>): a PKCS#12
/// file (<c>.pfx</c>, <c>.p12</c>) with its <see cref="Password"/>, or a PEM certificate with its PEM <see cref="KeyPath"/>. Loaded when
/// the listener starts; a renewed certificate needs a restart.
/// </summary>
public sealed partial class WebhookCertificateSettings
{
    /// <summary>The certificate file.</summary>
    public string Path { get; set; } = "";

    /// <summary>The PEM private key file of a PEM certificate; unset for PKCS#12 (or a PEM file holding both).</summary>
    public string? KeyPath { get; set; }

    /// <summary>The password of a PKCS#12 file or an encrypted PEM key. Secret: never shown or logged.</summary>
    [Secret]
    public string? Password { get; set; }
}
