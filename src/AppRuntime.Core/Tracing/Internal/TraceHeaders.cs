using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace AppRuntime.Internal;

/// <summary>
/// The headers of a task published by the runtime: the W3C trace context of its publish span, the source name and the
/// caller's own headers. The trace context is kept as an <see cref="ActivityContext"/> and rendered as a <c>traceparent</c>
/// string only when somebody reads it (a durable backend serialising the envelope, a handler looking at its headers), so an
/// in-process queue carries a task from the publish span to the process span without formatting or parsing anything.
/// </summary>
/// <remarks>
/// Equivalent to what the default W3C propagator writes into a dictionary: <c>traceparent</c>, <c>tracestate</c> when the
/// context has one, then <see cref="TaskHeaders.Source"/>; the caller's headers come first and are overridden by those.
/// The runtime uses it only when <see cref="DistributedContextPropagator.Current"/> is the default propagator and the
/// activity carries no baggage; otherwise it falls back to the propagator and a plain dictionary.
/// </remarks>
internal sealed class TraceHeaders : IReadOnlyDictionary<string, string>
{
    private readonly IReadOnlyDictionary<string, string>? _extra;
    private readonly string? _source;
    private readonly string? _traceState;
    private string? _traceParent;

    public TraceHeaders(in ActivityContext context, string? source, IReadOnlyDictionary<string, string>? extra)
    {
        Context = context;
        _source = source;
        _traceState = string.IsNullOrEmpty(context.TraceState) ? null : context.TraceState;
        _extra = extra;
    }

    /// <summary>The publish span's context, as a remote parent for the process span.</summary>
    public ActivityContext Context { get; }

    private string TraceParent => _traceParent ??= Format(Context);

    public int Count
    {
        get
        {
            var count = 1 + (_traceState is null ? 0 : 1) + (_source is null ? 0 : 1);
            if (_extra is not null)
            {
                foreach (var key in _extra.Keys)
                {
                    if (!IsOwn(key))
                        count++;
                }
            }
            return count;
        }
    }

    public IEnumerable<string> Keys
    {
        get
        {
            foreach (var (key, _) in this)
                yield return key;
        }
    }

    public IEnumerable<string> Values
    {
        get
        {
            foreach (var (_, value) in this)
                yield return value;
        }
    }

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The task has no header '{key}'.");

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        switch (key)
        {
            case TaskHeaders.TraceParent:
                value = TraceParent;
                return true;
            case TaskHeaders.TraceState when _traceState is not null:
                value = _traceState;
                return true;
            case TaskHeaders.Source when _source is not null:
                value = _source;
                return true;
        }
        if (_extra is not null && !IsOwn(key) && _extra.TryGetValue(key, out value))
            return true;
        value = null;
        return false;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        if (_extra is not null)
        {
            foreach (var pair in _extra)
            {
                if (!IsOwn(pair.Key))
                    yield return pair;
            }
        }
        if (_source is not null)
            yield return new(TaskHeaders.Source, _source);
        yield return new(TaskHeaders.TraceParent, TraceParent);
        if (_traceState is not null)
            yield return new(TaskHeaders.TraceState, _traceState);
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Headers this type supplies itself; a caller's header of the same name is overridden.</summary>
    private bool IsOwn(string key) =>
        string.Equals(key, TaskHeaders.TraceParent, StringComparison.Ordinal)
        || (_traceState is not null && string.Equals(key, TaskHeaders.TraceState, StringComparison.Ordinal))
        || (_source is not null && string.Equals(key, TaskHeaders.Source, StringComparison.Ordinal));

    /// <summary>Formats <c>00-{trace-id}-{span-id}-{flags}</c> as the W3C propagator does.</summary>
    private static string Format(in ActivityContext context) =>
        string.Create(55, context, static (span, c) =>
        {
            Span<byte> id = stackalloc byte[16];
            "00-".CopyTo(span);
            c.TraceId.CopyTo(id);
            Convert.TryToHexStringLower(id, span.Slice(3, 32), out _);
            span[35] = '-';
            c.SpanId.CopyTo(id[..8]);
            Convert.TryToHexStringLower(id[..8], span.Slice(36, 16), out _);
            span[52] = '-';
            span[53] = '0';
            span[54] = (c.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? '1' : '0';
        });
}
