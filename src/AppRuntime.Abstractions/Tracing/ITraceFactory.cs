using System.Diagnostics;

namespace AppRuntime;

/// <summary>Creates application spans in the current trace (seed: TraceFactory). Transport-agnostic.</summary>
public interface ITraceFactory
{
    /// <summary>Starts a span, or returns null when nobody listens.</summary>
    Activity? StartActivity(string name, ActivityKind kind = ActivityKind.Internal, IEnumerable<KeyValuePair<string, object?>>? tags = null);

    /// <summary>
    /// Starts a span whose parent is <paramref name="parentContext"/> (a remote caller's, for example) rather than the current
    /// activity, with <paramref name="links"/> to other spans; or returns null when nobody listens. A default
    /// <paramref name="parentContext"/> means the current activity, as in the other overload. An implementation that does not
    /// support explicit parents and links starts the span in the current trace.
    /// </summary>
    Activity? StartActivity(string name, ActivityKind kind, ActivityContext parentContext, IEnumerable<KeyValuePair<string, object?>>? tags = null,
        IEnumerable<ActivityLink>? links = null) => StartActivity(name, kind, tags);
}
