using AppRuntime.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Core.Tests.Queue;

/// <summary>Runs the shared queue contract against the in-memory backend on a fake clock (every check is exact and instant).</summary>
public sealed class InMemoryTaskQueueContractTests : TaskQueueContractTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly InMemoryQueueBackend _backend;

    public InMemoryTaskQueueContractTests() => _backend = new InMemoryQueueBackend(_time);

    protected override TimeProvider Time => _time;

    // Operations complete synchronously and time only moves when the test advances it: "not delivered" is exact at once.
    protected override TimeSpan NegativeCheckWindow => TimeSpan.Zero;

    protected override ValueTask<ITaskQueue<ContractTask>> CreateQueueAsync(QueueDefinition definition)
        => ValueTask.FromResult(_backend.Create(definition, ContractTask.Serializer));

    protected override ValueTask AdvanceTimeAsync(TimeSpan by)
    {
        _time.Advance(by);
        return ValueTask.CompletedTask;
    }
}
