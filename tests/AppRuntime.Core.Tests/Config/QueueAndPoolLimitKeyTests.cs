namespace AppRuntime.Core.Tests.Config;

/// <summary>
/// <c>AppRuntime:Queues:&lt;name&gt;:Prefetch</c> (0–1000) reaches the queue's definition, where a backend that leases ahead (Redis)
/// reads it; <c>AppRuntime:Pools:&lt;queue&gt;:MaxSettling</c> (0–1024) is range-checked. A bad value of either is a start error
/// that names the key.
/// </summary>
public sealed class QueueAndPoolLimitKeyTests
{
    private static TestRuntime Create(IDictionary<string, string?> settings, int? declaredPrefetch = null) => new(b =>
    {
        b.AddQueue<Job>(new QueueDefinition("orders", "Job") { Prefetch = declaredPrefetch });
        b.AddWorkerPool(new WorkerPoolDefinition("orders"));
        b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
    }, settings);

    [Fact]
    public async Task Without_the_key_the_queue_has_no_prefetch_of_its_own()
    {
        await using var rt = Create(new Dictionary<string, string?>());
        await rt.StartAsync();
        Assert.Null(rt.Queue<Job>("orders").Definition.Prefetch);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("64", 64)]
    [InlineData("1000", 1000)]
    public async Task The_prefetch_key_wins_over_the_declaration(string value, int expected)
    {
        await using var rt = Create(new Dictionary<string, string?> { ["AppRuntime:Queues:orders:Prefetch"] = value }, declaredPrefetch: 8);
        await rt.StartAsync();
        Assert.Equal(expected, rt.Queue<Job>("orders").Definition.Prefetch);
    }

    [Theory]
    [InlineData("AppRuntime:Queues:orders:Prefetch", "-1", "must be between 0 and 1000.")]
    [InlineData("AppRuntime:Queues:orders:Prefetch", "1001", "must be between 0 and 1000.")]
    [InlineData("AppRuntime:Queues:orders:Prefetch", "lots", "'lots' is not a valid Int32.")]
    [InlineData("AppRuntime:Pools:orders:MaxSettling", "-1", "must be between 0 and 1024.")]
    [InlineData("AppRuntime:Pools:orders:MaxSettling", "1025", "must be between 0 and 1024.")]
    [InlineData("AppRuntime:Pools:orders:MaxSettling", "4.5", "'4.5' is not a valid Int32.")]
    public async Task An_out_of_range_value_is_a_start_error_naming_the_key(string key, string value, string message)
    {
        await using var rt = Create(new Dictionary<string, string?> { [key] = value });
        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);
        var error = Assert.Single(ex.Errors);
        Assert.Equal((key, message), (error.KeyPath, error.Message));
        Assert.Equal(RuntimeState.Faulted, rt.Runtime.State);
    }

    [Fact]
    public void A_definition_built_in_code_with_a_prefetch_out_of_range_names_the_queue()
    {
        var ex = Assert.Throws<ArgumentException>(() => new QueueDefinition("orders", "Job") { Prefetch = 1001 }.Validate());
        Assert.Equal("Queue 'orders': Prefetch must be in [0, 1000] (was 1001).", ex.Message);
    }
}
