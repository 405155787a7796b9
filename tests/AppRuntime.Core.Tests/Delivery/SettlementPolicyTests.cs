using AppRuntime.Internal;

namespace AppRuntime.Core.Tests.Delivery;

/// <summary>The settlement policy as plain data: an exception and an attempt in, a decision out, no queue involved.</summary>
public sealed class SettlementPolicyTests
{
    private readonly SettlementPolicy _policy = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));

    [Fact]
    public void A_permanent_failure_is_dead_lettered_at_once_with_its_reason()
    {
        var s = _policy.OnFailure(new PermanentTaskException("unknown SKU"), attempt: 1, stopping: false);
        Assert.Equal(SettlementKind.DeadLetter, s.Kind);
        Assert.Equal("PermanentTaskException: unknown SKU", s.Reason);
    }

    [Fact]
    public void A_payload_that_cannot_be_read_is_dead_lettered()
    {
        var s = _policy.OnFailure(new TaskDeserializationException("bad json"), attempt: 1, stopping: false);
        Assert.Equal(SettlementKind.DeadLetter, s.Kind);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(5, 10)]
    [InlineData(30, 10)]
    public void Other_failures_retry_with_exponential_backoff_up_to_the_maximum(int attempt, int seconds)
    {
        var s = _policy.OnFailure(new IOException("disk busy"), attempt, stopping: false);
        Assert.Equal(SettlementKind.Retry, s.Kind);
        Assert.Equal(TimeSpan.FromSeconds(seconds), s.Delay);
        Assert.Equal("IOException: disk busy", s.Reason);
    }

    [Fact]
    public void A_retry_exception_sets_its_own_delay()
    {
        var s = _policy.OnFailure(new RetryTaskException("rate limited", TimeSpan.FromMinutes(2)), attempt: 1, stopping: false);
        Assert.Equal(SettlementKind.Retry, s.Kind);
        Assert.Equal(TimeSpan.FromMinutes(2), s.Delay);
    }

    [Fact]
    public void A_cancellation_while_the_runtime_stops_releases_the_task_and_is_not_a_failure()
    {
        Assert.Equal(SettlementKind.Release, _policy.OnFailure(new OperationCanceledException(), attempt: 3, stopping: true).Kind);
        // A handler's own cancellation (its own timeout) while the runtime runs is an ordinary failure.
        Assert.Equal(SettlementKind.Retry, _policy.OnFailure(new OperationCanceledException(), attempt: 3, stopping: false).Kind);
    }
}
