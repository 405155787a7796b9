using AppRuntime.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Core.Tests.Control;

public sealed class AuditTrailTests
{
    [Fact]
    public void The_ring_keeps_the_newest_records_newest_first_with_the_clock_time()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var trail = new AuditTrail(time, new CapturingLoggers(), capacity: 3);
        var caller = new ControlCaller("ada", ControlRole.Admin, CallerKind.User, "10.0.0.7");

        for (var i = 1; i <= 5; i++)
        {
            trail.Record(caller, AuditActions.SourcePause, "feed-" + i, AuditResult.Succeeded);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var recent = trail.GetRecent(10);
        Assert.Equal(["feed-5", "feed-4", "feed-3"], recent.Select(r => r.Target));
        Assert.Equal([5L, 4L, 3L], recent.Select(r => r.Sequence));
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 12, 0, 4, TimeSpan.Zero), recent[0].Time);
        Assert.Equal(("ada", CallerKind.User, ControlRole.Admin, "10.0.0.7"), (recent[0].Actor, recent[0].ActorKind, recent[0].Role, recent[0].ClientAddress));
        Assert.Single(trail.GetRecent(1));
    }

    [Fact]
    public void Every_record_is_a_structured_log_event_and_goes_to_every_sink_and_a_failing_sink_changes_nothing()
    {
        var loggers = new CapturingLoggers();
        var sink = new ListSink();
        var trail = new AuditTrail(TimeProvider.System, loggers, [new ThrowingSink(), sink]);

        var record = trail.Record(new ControlCaller("otto\r\nfake: admin logged in", ControlRole.Operator, CallerKind.User, "127.0.0.1"), AuditActions.Login, null,
            AuditResult.Failed, "wrong user name or password");

        Assert.Same(record, Assert.Single(sink.Records));
        Assert.Equal("otto??fake: admin logged in", record.Actor); // control characters cannot forge a log line
        var failed = loggers.Entries.Single(e => e.Category == "AppRuntime.Audit" && e.EventId == 901);
        Assert.Equal(LogLevel.Warning, failed.Level);
        Assert.Equal("login", failed.State["Action"]);
        Assert.Equal("Failed", failed.State["Result"]?.ToString());
        Assert.Equal("127.0.0.1", failed.State["ClientAddress"]);
        Assert.Contains(loggers.Entries, e => e.EventId == 902 && e.Level == LogLevel.Error);
        Assert.Single(trail.GetRecent());
    }

    [Fact]
    public async Task Actions_through_the_service_are_recorded_with_the_caller_or_as_internal_and_a_registered_sink_sees_them()
    {
        var sink = new ListSink();
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("orders", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("orders"));
            b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        }, services: s => s.AddSingleton<IAuditSink>(sink));
        await rt.StartAsync();
        var operatorCaller = new ControlCaller("otto", ControlRole.Operator, CallerKind.ApiKey, "10.1.1.1");

        rt.Control.PausePool("orders", operatorCaller);
        rt.Control.ResumePool("orders");
        rt.Control.PausePool("no-such-pool", operatorCaller);
        await rt.Control.ScalePoolAsync("orders", 2, operatorCaller);
        await rt.Control.GetDeadLetterAsync("orders", "missing", operatorCaller);

        var records = rt.Control.Audit.GetRecent(10).Reverse().ToList();
        Assert.Equal(records, sink.Records);
        Assert.Equal([AuditActions.PoolPause, AuditActions.PoolResume, AuditActions.PoolPause, AuditActions.PoolScale, AuditActions.DeadLetterView], records.Select(r => r.Action));
        Assert.Equal(("otto", CallerKind.ApiKey, AuditResult.Succeeded, "orders"), (records[0].Actor, records[0].ActorKind, records[0].Result, records[0].Target));
        Assert.Equal(("internal", CallerKind.Internal, ControlRole.Admin), (records[1].Actor, records[1].ActorKind, records[1].Role));
        Assert.Equal(AuditResult.Failed, records[2].Result);
        Assert.StartsWith("NotFound:", records[2].Detail, StringComparison.Ordinal);
        Assert.Equal("workers: 2", records[3].Detail);
        Assert.Equal(("orders/missing", AuditResult.Failed), (records[4].Target, records[4].Result));
    }

    private sealed class ListSink : IAuditSink
    {
        public List<AuditRecord> Records { get; } = [];

        public void Write(AuditRecord record)
        {
            lock (Records)
                Records.Add(record);
        }
    }

    private sealed class ThrowingSink : IAuditSink
    {
        public void Write(AuditRecord record) => throw new InvalidOperationException("the sink is down");
    }

    private sealed class CapturingLoggers : ILoggerFactory
    {
        public List<(string Category, LogLevel Level, int EventId, Dictionary<string, object?> State)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggers owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(p => p.Key, p => p.Value) : [];
                lock (owner.Entries)
                    owner.Entries.Add((category, logLevel, eventId.Id, values));
            }
        }
    }
}
