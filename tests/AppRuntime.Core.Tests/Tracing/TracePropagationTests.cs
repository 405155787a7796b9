using System.Collections.Concurrent;
using System.Diagnostics;
using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Core.Tests.Tracing;

public sealed class TracePropagationTests
{
    [Fact]
    public async Task Source_publish_and_handler_processing_are_one_trace()
    {
        var queueName = "traced-" + Guid.NewGuid().ToString("N")[..6];
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TraceService.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("messaging.destination.name") as string == queueName || a.OperationName == "order.parse")
                    stopped.Add(a);
            },
        };
        ActivitySource.AddActivityListener(listener);
        string? handlerTraceId = null;
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition(queueName, "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition(queueName));
            b.AddHandler<Job>(queueName, sp => new DelegateHandler<Job>((_, ctx, _) =>
            {
                handlerTraceId = Activity.Current?.TraceId.ToHexString();
                using var span = ctx.Services.GetRequiredService<ITraceFactory>().StartActivity("order.parse");
                return ValueTask.CompletedTask;
            }));
            b.AddSource<Job>(new SourceDefinition("traced-source", queueName), _ => new ListSource<Job>([new Job(1)]));
        });

        await rt.StartAsync();
        await Eventually.TrueAsync(() => stopped.Any(a => a.OperationName == "process " + queueName), "the process span ended");

        var publish = Assert.Single(stopped, a => a.OperationName == "publish " + queueName);
        var process = Assert.Single(stopped, a => a.OperationName == "process " + queueName);
        var child = Assert.Single(stopped, a => a.OperationName == "order.parse");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(publish.TraceId, process.TraceId);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal(process.SpanId, child.ParentSpanId);
        Assert.Equal(publish.TraceId.ToHexString(), handlerTraceId);
        Assert.Equal(1, process.GetTagItem("messaging.message.delivery_attempt"));
        Assert.Equal("appruntime", process.GetTagItem("messaging.system"));
        Assert.Contains(rt.Control.GetRecentTraces(), r => r.Queue == queueName && r.TraceId == publish.TraceId.ToHexString() && r.Outcome == TaskOutcome.Succeeded);
    }

    [Fact]
    public async Task Trace_context_travels_in_the_envelope_headers()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TraceService.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var rt = new TestRuntime(b => b.AddQueue<Job>(new QueueDefinition("headers", "Job")));
        await rt.StartAsync();

        await rt.Provider.GetRequiredService<ITaskPublisher<Job>>().PublishAsync(new Job(1), new TaskPublishOptions { Headers = new Dictionary<string, string> { ["tenant"] = "acme" } });
        var lease = await rt.Queue<Job>("headers").ConsumeAsync();

        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", lease.Envelope.Headers[TaskHeaders.TraceParent]);
        Assert.Equal("acme", lease.Envelope.Headers["tenant"]);
    }

    [Fact]
    public async Task PublishMany_gives_each_task_its_own_id_and_producer_span_under_the_callers_span_and_the_handler_continues_each_trace()
    {
        var queueName = "many-" + Guid.NewGuid().ToString("N")[..6];
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == TraceService.SourceName || s.Name == "test.caller",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.OperationName.EndsWith(queueName, StringComparison.Ordinal))
                    stopped.Add(a);
            },
        };
        ActivitySource.AddActivityListener(listener);
        var handled = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition(queueName, "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition(queueName));
            b.AddHandler<Job>(queueName, sp => new DelegateHandler<Job>((job, ctx, _) =>
            {
                handled[ctx.TaskId] = $"{job.Number}:{Activity.Current!.TraceId.ToHexString()}";
                return ValueTask.CompletedTask;
            }));
        });
        await rt.StartAsync();
        var publisher = rt.Provider.GetRequiredService<ITaskPublisher<Job>>();
        using var callerSource = new ActivitySource("test.caller");

        IReadOnlyList<string> ids;
        using (var caller = callerSource.StartActivity("caller"))
        {
            ids = await publisher.PublishManyAsync([new Job(1), new Job(2), new Job(3)]);
            Assert.Same(caller, Activity.Current);
            await Eventually.TrueAsync(() => handled.Count == 3, "the three tasks were handled");
            var publishes = stopped.Where(a => a.OperationName == "publish " + queueName).ToList();
            Assert.Equal(3, publishes.Count);
            Assert.All(publishes, p => Assert.Equal(caller!.SpanId, p.ParentSpanId));
            Assert.Equal(ids.Order(), publishes.Select(p => (string)p.GetTagItem("messaging.message.id")!).Order());
        }

        Assert.Equal(3, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["1", "2", "3"], ids.Select(id => handled[id].Split(':')[0]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await publisher.PublishManyAsync([new Job(4)], new TaskPublishOptions { Id = "fixed" }));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await publisher.PublishManyAsync([new Job(5)], new TaskPublishOptions { DeduplicationWindow = TimeSpan.FromMinutes(1) }));
    }
}
