namespace AppRuntime.Core.Tests.Config;

/// <summary>
/// <c>AppRuntime:Queues:&lt;name&gt;:VisibilityTimeout</c>: the key wins over the declaration, the declaration over the 30 s default;
/// a bad value is a start error that names the key.
/// </summary>
public sealed class VisibilityTimeoutConfigTests
{
    private static TestRuntime Create(IDictionary<string, string?> settings, TimeSpan? declared = null) => new(b =>
    {
        b.AddQueue<Job>(declared is { } d ? new QueueDefinition("orders", "Job") { VisibilityTimeout = d } : new QueueDefinition("orders", "Job"));
        b.AddWorkerPool(new WorkerPoolDefinition("orders"));
        b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
    }, settings);

    [Fact]
    public async Task The_default_is_30_seconds()
    {
        await using var rt = Create(new Dictionary<string, string?>());
        await rt.StartAsync();
        Assert.Equal(TimeSpan.FromSeconds(30), rt.Queue<Job>("orders").Definition.VisibilityTimeout);
        Assert.Equal(30, new TaskQueueAttribute<Job>("orders").VisibilityTimeoutSeconds);
    }

    [Fact]
    public async Task A_declared_value_wins_over_the_default()
    {
        await using var rt = Create(new Dictionary<string, string?>(), declared: TimeSpan.FromMinutes(10));
        await rt.StartAsync();
        Assert.Equal(TimeSpan.FromMinutes(10), rt.Queue<Job>("orders").Definition.VisibilityTimeout);
    }

    [Fact]
    public async Task The_key_wins_over_the_declaration_and_the_lease_uses_it()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("orders", "Job") { VisibilityTimeout = TimeSpan.FromMinutes(10) });
        }, new Dictionary<string, string?> { ["AppRuntime:Queues:orders:VisibilityTimeout"] = "00:00:07" }, time: time);
        await rt.StartAsync();
        var queue = rt.Queue<Job>("orders");
        Assert.Equal(TimeSpan.FromSeconds(7), queue.Definition.VisibilityTimeout);

        await queue.PublishAsync(new TaskEnvelope<Job>("t1", "Job", new Job(1), time.GetUtcNow()));
        var lease = await queue.ConsumeAsync();
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(7), lease.LeasedUntil);
    }

    [Theory]
    [InlineData("-1", "must be between 00:00:05 and 12:00:00.")]
    [InlineData("-00:00:01", "must be between 00:00:05 and 12:00:00.")]
    [InlineData("00:00:04", "must be between 00:00:05 and 12:00:00.")]
    [InlineData("12:00:01", "must be between 00:00:05 and 12:00:00.")]
    [InlineData("abc", "'abc' is not a valid TimeSpan (e.g. 00:00:30).")]
    public async Task A_bad_value_is_a_start_error_naming_the_key(string value, string message)
    {
        await using var rt = Create(new Dictionary<string, string?> { ["AppRuntime:Queues:orders:VisibilityTimeout"] = value });
        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);
        var error = Assert.Single(ex.Errors);
        Assert.Equal("AppRuntime:Queues:orders:VisibilityTimeout", error.KeyPath);
        Assert.Equal(message, error.Message);
        Assert.Equal(RuntimeState.Faulted, rt.Runtime.State);
    }

    [Fact]
    public async Task The_bounds_are_allowed()
    {
        foreach (var (value, expected) in new[] { ("00:00:05", TimeSpan.FromSeconds(5)), ("12:00:00", TimeSpan.FromHours(12)) })
        {
            await using var rt = Create(new Dictionary<string, string?> { ["AppRuntime:Queues:orders:VisibilityTimeout"] = value });
            await rt.StartAsync();
            Assert.Equal(expected, rt.Queue<Job>("orders").Definition.VisibilityTimeout);
        }
    }

    [Fact]
    public async Task A_queue_nobody_declared_is_an_error()
    {
        await using var rt = Create(new Dictionary<string, string?> { ["AppRuntime:Queues:order:VisibilityTimeout"] = "00:00:10" });
        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);
        var error = Assert.Single(ex.Errors);
        Assert.Equal("AppRuntime:Queues:order", error.KeyPath);
        Assert.Equal("there is no queue named 'order'; did you mean 'orders'?", error.Message);
    }
}
