namespace AppRuntime;

/// <summary>The running webhook listener, resolvable from DI.</summary>
public interface IWebhookServer
{
    /// <summary>True while the listener accepts connections.</summary>
    bool IsRunning { get; }

    /// <summary>The addresses it listens on (with the port chosen for port 0).</summary>
    IReadOnlyList<Uri> Addresses { get; }

    /// <summary>The paths of the registered webhook sources, by source name.</summary>
    IReadOnlyDictionary<string, string> Paths { get; }
}
