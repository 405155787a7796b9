using System.Diagnostics;

namespace AppRuntime;

/// <summary>Creates application spans in the current trace (seed: TraceFactory). Transport-agnostic.</summary>
public interface ITraceFactory
{
    /// <summary>Starts a span, or returns null when nobody listens.</summary>
    Activity? StartActivity(string name, ActivityKind kind = ActivityKind.Internal, IEnumerable<KeyValuePair<string, object?>>? tags = null);
}
