namespace AppRuntime.Internal;

/// <summary>The webhook sources of one host and the configure delegates of its AddWebhooks calls; added to the services once.</summary>
internal sealed class WebhookRegistry
{
    private readonly List<IWebhookEndpoint> _endpoints = [];

    public List<Action<WebhookOptions>> Configure { get; } = [];

    public IReadOnlyList<IWebhookEndpoint> Endpoints => _endpoints;

    public IWebhookEndpoint? Find(string name) => _endpoints.FirstOrDefault(e => string.Equals(e.Definition.Name, name, StringComparison.OrdinalIgnoreCase));

    public void Add(IWebhookEndpoint endpoint)
    {
        var definition = endpoint.Definition;
        foreach (var other in _endpoints)
        {
            if (string.Equals(other.Definition.Name, definition.Name, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"A webhook source named '{definition.Name}' is already registered.", nameof(endpoint));
            if (string.Equals(other.Definition.Path, definition.Path, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"Webhook sources '{other.Definition.Name}' and '{definition.Name}' both listen on '{definition.Path}'.", nameof(endpoint));
        }
        _endpoints.Add(endpoint);
    }

    /// <summary>
    /// The secret keys of the section: the generated ones (the certificate password) and the whole <c>Sources</c> subtree, so a
    /// secret stays hidden even under a misspelt source name (which the start-up check then reports).
    /// </summary>
    public static IReadOnlyList<string> SecretKeys(IEnumerable<string> generated) => [.. generated, "Sources"];
}
