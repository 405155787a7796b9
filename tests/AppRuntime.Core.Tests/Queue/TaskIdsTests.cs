using AppRuntime.Internal;

namespace AppRuntime.Core.Tests.Queue;

/// <summary>The ids the runtime gives tasks published without one: short, unique, and the counter readable back.</summary>
public sealed class TaskIdsTests
{
    private const string Digits = "0123456789abcdefghjkmnpqrstvwxyz";

    [Fact]
    public void Ids_are_a_13_digit_process_prefix_and_a_base_32_counter_without_leading_zeros_each_counting_up()
    {
        var ids = Enumerable.Range(0, 100_000).Select(_ => TaskIds.Next()).ToArray();

        Assert.Equal(ids.Length, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.Matches("^[0-9a-hjkmnp-tv-z]{13}-[1-9a-hjkmnp-tv-z][0-9a-hjkmnp-tv-z]{0,12}$", id));
        Assert.Single(ids.Select(id => id[..13]).Distinct(StringComparer.Ordinal));
        var counters = ids.Select(id => id[14..].Aggregate(0L, (n, c) => n * 32 + Digits.IndexOf(c, StringComparison.Ordinal))).ToArray();
        for (var i = 1; i < counters.Length; i++)
            Assert.True(counters[i] > counters[i - 1], $"{ids[i]} after {ids[i - 1]}");   // other tests may take ids in between
        Assert.InRange(ids[^1].Length, 15, 27);
    }
}
