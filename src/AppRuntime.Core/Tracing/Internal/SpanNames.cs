using System.Collections.Concurrent;

namespace AppRuntime.Internal;

/// <summary>The runtime's span names per queue (<c>publish {queue}</c>, <c>process {queue}</c>), built once per queue.</summary>
internal static class SpanNames
{
    private static readonly ConcurrentDictionary<string, string> s_publish = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string> s_process = new(StringComparer.Ordinal);

    public static string Publish(string queue) => s_publish.GetOrAdd(queue, static q => "publish " + q);

    public static string Process(string queue) => s_process.GetOrAdd(queue, static q => "process " + q);
}
