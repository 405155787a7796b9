using AppRuntime.Mail.Internal;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Mail.Tests;

public sealed class InFlightTrackerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_key_in_flight_cannot_be_claimed_again()
    {
        var tracker = new InFlightTracker(_time, TimeSpan.FromMinutes(30));
        var search = tracker.StartSearch();
        Assert.True(tracker.TryBegin("1:1", search));
        Assert.False(tracker.TryBegin("1:1", tracker.StartSearch()));
        Assert.Equal(1, tracker.Count);
    }

    [Fact]
    public void A_key_settled_after_a_search_started_is_not_claimed_by_that_search()
    {
        var tracker = new InFlightTracker(_time, TimeSpan.FromMinutes(30));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()));
        var staleSearch = tracker.StartSearch(); // saw the message while it was still unseen
        _time.Advance(TimeSpan.FromSeconds(1));
        tracker.Settle("1:1");

        Assert.False(tracker.TryBegin("1:1", staleSearch));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()), "a search that started after the settlement may publish it again (e.g. \\Seen could not be stored)");
    }

    [Fact]
    public void An_abandoned_claim_can_be_claimed_again()
    {
        var tracker = new InFlightTracker(_time, TimeSpan.FromMinutes(30));
        var search = tracker.StartSearch();
        Assert.True(tracker.TryBegin("1:1", search));
        tracker.Abandon("1:1");
        Assert.True(tracker.TryBegin("1:1", search));
    }

    [Fact]
    public void A_claim_whose_outcome_never_came_expires_after_the_in_flight_timeout()
    {
        var tracker = new InFlightTracker(_time, TimeSpan.FromMinutes(30));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()));
        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.False(tracker.TryBegin("1:1", tracker.StartSearch()));
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()));
    }
}
