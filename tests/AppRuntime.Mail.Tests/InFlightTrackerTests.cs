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
    public void A_key_whose_flag_could_not_be_stored_is_not_claimed_by_a_search_that_started_before_but_is_by_a_later_one()
    {
        var tracker = new InFlightTracker(_time, TimeSpan.FromMinutes(30));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()));
        var staleSearch = tracker.StartSearch(); // saw the message while it was still unseen
        _time.Advance(TimeSpan.FromSeconds(1));
        tracker.Settle("1:1", stored: false);

        Assert.False(tracker.TryBegin("1:1", staleSearch));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()), "a later search publishes it again, so \\Seen gets another try");
    }

    [Fact]
    public void A_key_whose_flag_the_server_confirmed_is_not_claimed_again_even_by_a_later_search_until_the_memory_ends()
    {
        var tracker = new InFlightTracker(_time, TimeSpan.FromMinutes(30));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()));
        _time.Advance(TimeSpan.FromSeconds(1));
        tracker.Settle("1:1", stored: true);

        // A search that starts after \Seen was stored and still reports the message unseen (a stale session view).
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(tracker.TryBegin("1:1", tracker.StartSearch()));
        _time.Advance(InFlightTracker.StoredMemory - TimeSpan.FromSeconds(2));
        Assert.False(tracker.TryBegin("1:1", tracker.StartSearch()));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(tracker.TryBegin("1:1", tracker.StartSearch()), "marked unread again by a user, it is processed again after the memory");
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
