using AppRuntime.Mail.Internal;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Mail.Tests;

public sealed class InFlightTrackerTests
{
    private static readonly TimeSpan InFlightTimeout = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private InFlightTracker Tracker() => new(_time, InFlightTimeout, Retention);

    private static FlagTarget Target(string key, OutcomeFlag flag = OutcomeFlag.Seen) => new(key, 1, uint.Parse(key[2..], System.Globalization.CultureInfo.InvariantCulture), null, flag);

    [Fact]
    public void A_key_in_flight_cannot_be_claimed_again()
    {
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        Assert.False(tracker.TryBegin("1:1"));
        Assert.Equal(1, tracker.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_settled_key_is_not_claimed_again_while_its_outcome_is_remembered_whether_or_not_the_flag_was_confirmed(bool confirmed)
    {
        var result = confirmed ? StoreResult.Confirmed : StoreResult.Unconfirmed;
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        tracker.Settle(Target("1:1"), result);
        Assert.Equal(0, tracker.Count);
        Assert.Equal(result == StoreResult.Unconfirmed ? 1 : 0, tracker.Unconfirmed);

        _time.Advance(Retention - TimeSpan.FromSeconds(1));
        tracker.Prune();
        Assert.False(tracker.TryBegin("1:1"), "reconciliation, not a second publish, takes care of its flag");
        _time.Advance(TimeSpan.FromSeconds(2));
        tracker.Prune();
        Assert.True(tracker.TryBegin("1:1"), "after the retention an unread message is published again");
        Assert.Equal(0, tracker.Unconfirmed);
    }

    [Fact]
    public void A_gone_message_leaves_no_outcome_behind()
    {
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        tracker.Settle(Target("1:1"), StoreResult.Gone);
        Assert.Empty(tracker.SnapshotOutcomes());
        Assert.Equal(0, tracker.Outcomes);
    }

    [Fact]
    public void Reconciliation_updates_turn_an_unconfirmed_outcome_confirmed_and_keep_its_time()
    {
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        Assert.True(tracker.TryBegin("1:2"));
        tracker.Settle(Target("1:1"), StoreResult.Unconfirmed);
        tracker.Settle(Target("1:2", OutcomeFlag.Failed), StoreResult.Unconfirmed);
        Assert.Equal(2, tracker.Unconfirmed);

        _time.Advance(TimeSpan.FromMinutes(30));
        tracker.Update(Target("1:1"), StoreResult.Confirmed);
        tracker.Update(Target("1:2", OutcomeFlag.Failed), StoreResult.Gone);
        tracker.Update(Target("1:3"), StoreResult.Confirmed); // never recorded: ignored
        Assert.Equal(0, tracker.Unconfirmed);
        Assert.Equal(["1:1"], tracker.SnapshotOutcomes().Select(t => t.Key));

        _time.Advance(TimeSpan.FromMinutes(31));
        tracker.Prune();
        Assert.Empty(tracker.SnapshotOutcomes()); // retention counts from the settlement, not from the update
    }

    [Fact]
    public void Forgotten_outcomes_can_be_claimed_again()
    {
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        tracker.Settle(Target("1:1"), StoreResult.Unconfirmed);
        tracker.Forget(tracker.SnapshotOutcomes());
        Assert.Equal(0, tracker.Unconfirmed);
        Assert.True(tracker.TryBegin("1:1"));
    }

    [Fact]
    public void An_abandoned_claim_can_be_claimed_again()
    {
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        tracker.Abandon("1:1");
        Assert.True(tracker.TryBegin("1:1"));
    }

    [Fact]
    public void A_claim_whose_outcome_never_came_expires_after_the_in_flight_timeout()
    {
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        _time.Advance(TimeSpan.FromMinutes(29));
        tracker.Prune();
        Assert.False(tracker.TryBegin("1:1"));
        _time.Advance(TimeSpan.FromMinutes(2));
        tracker.Prune();
        Assert.True(tracker.TryBegin("1:1"));
    }

    [Fact]
    public void Keys_in_flight_longer_than_the_check_age_are_due_once_per_age_oldest_first_and_capped()
    {
        var age = TimeSpan.FromSeconds(30);
        var tracker = Tracker();
        Assert.Null(tracker.UntilPendingCheck(age));
        Assert.True(tracker.TryBegin("1:1"));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(tracker.TryBegin("1:2"));
        Assert.True(tracker.TryBegin("1:3"));
        Assert.Equal(TimeSpan.FromSeconds(20), tracker.UntilPendingCheck(age));
        Assert.Empty(tracker.DueForPendingCheck(age, 10));

        _time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(TimeSpan.Zero, tracker.UntilPendingCheck(age));
        Assert.Equal(["1:1"], tracker.DueForPendingCheck(age, 10));

        // Asked again within the age: nothing, although 1:2 and 1:3 are now old enough; after it, the oldest ones up to the cap.
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(TimeSpan.FromSeconds(15), tracker.UntilPendingCheck(age));
        Assert.Empty(tracker.DueForPendingCheck(age, 10));
        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal(["1:1", "1:2"], tracker.DueForPendingCheck(age, 2));

        tracker.Abandon("1:1");
        tracker.Abandon("1:2");
        tracker.Abandon("1:3");
        Assert.Null(tracker.UntilPendingCheck(age));
    }

    [Fact]
    public void In_flight_keys_a_search_no_longer_finds_unseen_are_forgotten_and_the_others_stay_in_flight()
    {
        // Another instance settled 1:1 and flagged it (the search no longer returns it); 1:2 is still unseen and in a worker.
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        Assert.True(tracker.TryBegin("1:2"));
        tracker.Settle(Target("1:3"), StoreResult.Unconfirmed); // an outcome of this instance: not in flight, kept as an outcome

        Assert.Equal(1, tracker.ForgetSettledElsewhere(new HashSet<string>(["1:2", "1:3", "1:4"], StringComparer.Ordinal)));
        Assert.Equal(1, tracker.Count);
        Assert.False(tracker.TryBegin("1:2"), "still in flight");
        Assert.True(tracker.TryBegin("1:1"), "forgotten: a later unseen copy of it may be published again");
        Assert.False(tracker.TryBegin("1:3"), "its outcome is still remembered");
        Assert.Equal(0, tracker.ForgetSettledElsewhere(new HashSet<string>(["1:1", "1:2"], StringComparer.Ordinal)));
    }

    [Fact]
    public void A_key_is_released_after_two_not_pending_answers_in_a_row_once_while_in_flight_and_again_after_an_outcome()
    {
        var age = TimeSpan.FromSeconds(30);
        var tracker = Tracker();
        Assert.True(tracker.TryBegin("1:1"));
        Assert.False(tracker.NotPending("1:1"), "one answer could be a worker between its ack and its flag");
        tracker.Pending("1:1");
        Assert.False(tracker.NotPending("1:1"), "a pending answer in between starts over");
        Assert.True(tracker.NotPending("1:1"));

        // Released once: republished (claimed again once), it is never due again while in flight (a dead letter's republish is
        // refused by the queue).
        Assert.True(tracker.TryBegin("1:1"));
        Assert.False(tracker.TryBegin("1:1"), "claimed again once only");
        _time.Advance(age * 3);
        Assert.Empty(tracker.DueForPendingCheck(age, 10));
        Assert.Null(tracker.UntilPendingCheck(age));

        // Its outcome ends that: a later unread copy in flight is checked again.
        tracker.Settle(Target("1:1"), StoreResult.Gone);
        Assert.True(tracker.TryBegin("1:1"));
        _time.Advance(age);
        Assert.Equal(["1:1"], tracker.DueForPendingCheck(age, 10));
        Assert.False(tracker.NotPending("1:2"), "a key not in flight is never released");
    }
}
