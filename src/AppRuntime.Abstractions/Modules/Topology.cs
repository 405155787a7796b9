using System.Text;

namespace AppRuntime;

/// <summary>A source in the topology.</summary>
/// <param name="Name">Source name.</param>
/// <param name="Queue">Target queue.</param>
/// <param name="Type">Implementing type (display name).</param>
public sealed record SourceNode(string Name, string Queue, string Type);

/// <summary>A queue in the topology.</summary>
/// <param name="Name">Queue name.</param>
/// <param name="TaskType">Task type (display name).</param>
/// <param name="Capacity">Capacity.</param>
public sealed record QueueNode(string Name, string TaskType, int Capacity);

/// <summary>A worker pool in the topology.</summary>
/// <param name="Queue">The queue it consumes.</param>
/// <param name="Workers">Declared workers.</param>
/// <param name="MaxAttempts">Declared max attempts.</param>
public sealed record PoolNode(string Queue, int Workers, int MaxAttempts);

/// <summary>A handler in the topology.</summary>
/// <param name="Queue">The queue whose tasks it handles.</param>
/// <param name="Type">Implementing type (display name).</param>
public sealed record HandlerNode(string Queue, string Type)
{
    /// <summary>
    /// The queues the handler publishes to: those whose task type it asks for as an <c>ITaskPublisher&lt;T&gt;</c> in its
    /// constructor (a chain of queues: a handler of one queue feeding another). Empty when it publishes nothing that way.
    /// </summary>
    public IReadOnlyList<string> Publishes { get; init; } = [];
}

/// <summary>The declared wiring of one module: sources → queues → pools → handlers.</summary>
/// <param name="Module">The module name.</param>
/// <param name="Sources">Sources.</param>
/// <param name="Queues">Queues.</param>
/// <param name="Pools">Worker pools.</param>
/// <param name="Handlers">Handlers.</param>
public sealed record ModuleTopology(
    string Module,
    IReadOnlyList<SourceNode> Sources,
    IReadOnlyList<QueueNode> Queues,
    IReadOnlyList<PoolNode> Pools,
    IReadOnlyList<HandlerNode> Handlers)
{
    /// <summary>Renders one or more modules as a Mermaid flowchart.</summary>
    public static string ToMermaid(IEnumerable<ModuleTopology> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        var sb = new StringBuilder("flowchart LR\n");
        foreach (var m in modules.OrderBy(m => m.Module, StringComparer.Ordinal))
        {
            sb.Append("  subgraph ").Append(Id("m", m.Module)).Append("[\"").Append(Escape(m.Module)).Append("\"]\n");
            foreach (var s in m.Sources)
                sb.Append("    ").Append(Id("s", s.Name)).Append("([\"source: ").Append(Escape(s.Name)).Append("\"])\n");
            foreach (var q in m.Queues)
                sb.Append("    ").Append(Id("q", q.Name)).Append("[[\"queue: ").Append(Escape(q.Name)).Append("<br/>").Append(Escape(q.TaskType)).Append("\"]]\n");
            foreach (var p in m.Pools)
                sb.Append("    ").Append(Id("p", p.Queue)).Append("{{\"pool: ").Append(Escape(p.Queue)).Append(" x").Append(p.Workers).Append("\"}}\n");
            foreach (var h in m.Handlers)
                sb.Append("    ").Append(Id("h", h.Queue + "_" + h.Type)).Append("[\"handler: ").Append(Escape(h.Type)).Append("\"]\n");
            sb.Append("  end\n");
            foreach (var s in m.Sources)
                sb.Append("  ").Append(Id("s", s.Name)).Append(" --> ").Append(Id("q", s.Queue)).Append('\n');
            foreach (var p in m.Pools)
                sb.Append("  ").Append(Id("q", p.Queue)).Append(" --> ").Append(Id("p", p.Queue)).Append('\n');
            foreach (var h in m.Handlers)
                sb.Append("  ").Append(Id("p", h.Queue)).Append(" --> ").Append(Id("h", h.Queue + "_" + h.Type)).Append('\n');
            foreach (var h in m.Handlers)
            {
                foreach (var queue in h.Publishes)
                    sb.Append("  ").Append(Id("h", h.Queue + "_" + h.Type)).Append(" -.->|publishes| ").Append(Id("q", queue)).Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>Renders this module as a Mermaid flowchart.</summary>
    public string ToMermaid() => ToMermaid([this]);

    private static string Id(string prefix, string name)
    {
        var sb = new StringBuilder(prefix).Append('_');
        foreach (var c in name)
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        return sb.ToString();
    }

    private static string Escape(string text) => text.Replace("\"", "#quot;", StringComparison.Ordinal);
}
