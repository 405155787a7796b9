using System.Diagnostics;
using AppRuntime.Internal;

namespace AppRuntime.Core.Tests.Tracing;

/// <summary>
/// The runtime's own header type must read exactly like the dictionary the default W3C propagator fills, because durable
/// backends serialise it and handlers read it like any other header set.
/// </summary>
public sealed class TraceHeadersTests
{
    private static ActivityContext Context(string? traceState = null, bool recorded = true) =>
        new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), recorded ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, traceState);

    /// <summary>What StartPublish's dictionary path holds: the caller's headers, the source, then the W3C fields.</summary>
    private static Dictionary<string, string> Expected(ActivityContext context, string? source, IReadOnlyDictionary<string, string>? extra)
    {
        var expected = extra is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(extra, StringComparer.Ordinal);
        if (source is not null)
            expected[TaskHeaders.Source] = source;
        expected[TaskHeaders.TraceParent] = $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{(context.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) ? "01" : "00")}";
        if (!string.IsNullOrEmpty(context.TraceState))
            expected[TaskHeaders.TraceState] = context.TraceState;
        return expected;
    }

    public static TheoryData<string?, bool, string?, bool> Cases => new()
    {
        { null, true, null, false },
        { "vendor=abc,other=1", true, "mail-source", false },
        { null, false, "mail-source", true },
        { "k=v", true, null, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_like_the_dictionary_of_the_propagator_path(string? traceState, bool recorded, string? source, bool withExtra)
    {
        var context = Context(traceState, recorded);
        IReadOnlyDictionary<string, string>? extra = withExtra
            ? new Dictionary<string, string>(StringComparer.Ordinal) { ["x-tenant"] = "acme", [TaskHeaders.TraceParent] = "stale", [TaskHeaders.Source] = "caller" }
            : null;

        var headers = new TraceHeaders(context, source, extra);
        var expected = Expected(context, source, extra);

        Assert.Equal(expected.Count, headers.Count);
        Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), headers.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), headers.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in expected)
        {
            Assert.True(headers.TryGetValue(key, out var actual), key);
            Assert.Equal(value, actual);
            Assert.Equal(value, headers[key]);
        }
        Assert.False(headers.ContainsKey("absent"));
        Assert.Throws<KeyNotFoundException>(() => headers["absent"]);
        Assert.True(ActivityContext.TryParse(headers[TaskHeaders.TraceParent], traceState, isRemote: true, out var parsed));
        Assert.Equal((context.TraceId, context.SpanId, context.TraceFlags), (parsed.TraceId, parsed.SpanId, parsed.TraceFlags));
    }

    [Fact]
    public void The_format_matches_what_the_propagator_writes_for_a_live_activity()
    {
        using var source = new ActivitySource("AppRuntime.Tests.TraceHeaders");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var activity = source.StartActivity("publish x", ActivityKind.Producer)!;
        activity.TraceStateString = "a=1";
        var injected = new Dictionary<string, string>(StringComparer.Ordinal);
        DistributedContextPropagator.CreateDefaultPropagator().Inject(activity, injected, static (carrier, key, value) =>
        {
            if (carrier is Dictionary<string, string> d && value is not null)
                d[key] = value;
        });

        var headers = new TraceHeaders(activity.Context, null, null);

        Assert.Equal(injected.OrderBy(p => p.Key, StringComparer.Ordinal), headers.OrderBy(p => p.Key, StringComparer.Ordinal));
    }
}

public sealed class StartPublishHeaderTests
{
    [Fact]
    public void With_the_default_propagator_a_publish_carries_its_context_without_a_dictionary_and_the_process_span_is_its_child()
    {
        using var trace = new TraceService();
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => ReferenceEquals(s, trace.ActivitySource),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var extra = new Dictionary<string, string>(StringComparer.Ordinal) { ["x-tenant"] = "acme" };
        IReadOnlyDictionary<string, string> headers;
        using (trace.StartPublish("orders", "t-1", "mail", extra, out headers))
        {
        }
        var envelope = new TaskEnvelope<int>("t-1", "Job", 1, DateTimeOffset.UnixEpoch) { Headers = headers, Attempt = 1 };
        using (trace.StartProcess(envelope, "orders"))
        {
        }

        Assert.IsType<TraceHeaders>(headers);
        Assert.Equal("acme", headers["x-tenant"]);
        Assert.Equal("mail", headers[TaskHeaders.Source]);
        var publish = Assert.Single(stopped, a => a.OperationName == "publish orders");
        var process = Assert.Single(stopped, a => a.OperationName == "process orders");
        Assert.Equal(publish.TraceId, process.TraceId);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal($"00-{publish.TraceId.ToHexString()}-{publish.SpanId.ToHexString()}-01", headers[TaskHeaders.TraceParent]);
    }
}

public sealed class RecentTraceBufferTests
{
    [Fact]
    public void A_snapshot_lists_the_newest_records_first_and_keeps_only_the_last_capacity()
    {
        var buffer = new RecentTraceBuffer(4);
        var traceId = ActivityTraceId.CreateRandom();
        for (var i = 0; i < 10; i++)
            buffer.Add("q", $"t{i}", i % 2 == 0 ? traceId : default, i == 3 ? "explicit" : null, 1, TaskOutcome.Succeeded, TimeSpan.FromMilliseconds(i), DateTimeOffset.UnixEpoch, null);

        var all = buffer.Snapshot(100);

        Assert.Equal(["t9", "t8", "t7", "t6"], all.Select(r => r.TaskId));
        Assert.Equal([null, traceId.ToHexString(), null, traceId.ToHexString()], all.Select(r => r.TraceId));
        Assert.Equal(["t9", "t8"], buffer.Snapshot(2).Select(r => r.TaskId));
        Assert.Empty(buffer.Snapshot(0));
        Assert.Empty(new RecentTraceBuffer(4).Snapshot(10));
    }

    [Fact]
    public async Task Concurrent_writers_never_produce_a_torn_or_out_of_order_snapshot()
    {
        var buffer = new RecentTraceBuffer(16);
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"{w}:{i}";
                buffer.Add("q", id, default, id, i, TaskOutcome.Succeeded, TimeSpan.FromTicks(i), DateTimeOffset.UnixEpoch.AddTicks(i), null);
            }
        })).ToArray();

        var snapshots = 0;
        while (snapshots < 2_000)
        {
            foreach (var record in buffer.Snapshot(16))
            {
                // Every field of a record comes from one Add: the id, the trace text, the attempt and the times agree.
                Assert.Equal(record.TaskId, record.TraceId);
                var i = int.Parse(record.TaskId.AsSpan(record.TaskId.IndexOf(':', StringComparison.Ordinal) + 1), System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal((i, i), (record.Attempt, (int)record.Duration.Ticks));
                Assert.Equal(i, (int)(record.CompletedAt - DateTimeOffset.UnixEpoch).Ticks);
            }
            snapshots++;
        }
        await stop.CancelAsync();
        await Task.WhenAll(writers);
    }
}
