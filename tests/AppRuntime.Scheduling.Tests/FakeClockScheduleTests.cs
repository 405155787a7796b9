using AppRuntime.TestSupport;
using static AppRuntime.Scheduling.Tests.ScheduleHarness;

namespace AppRuntime.Scheduling.Tests;

/// <summary>The scheduled source on a fake clock, through a real runtime with the in-memory queue.</summary>
public sealed class FakeClockScheduleTests
{
    private static ScheduledSourceDefinition Def(string cron, string zone = "UTC") => new(Source, "ticks", cron) { TimeZone = zone };

    [Fact]
    public async Task Berlin_spring_forward_an_occurrence_in_the_skipped_hour_fires_when_the_clock_jumps()
    {
        // 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that night.
        await using var h = new ScheduleHarness(Def("30 2 * * *", "Europe/Berlin"), At("2026-03-28T12:00:00Z"));
        await h.StartAsync();

        await h.FireAsync("2026-03-29T01:00:00Z");
        var fired = h.HandledTasks.Single();
        Assert.Equal(At("2026-03-29T01:00:00Z"), fired.Task.Time);
        Assert.Equal("2026-03-29T03:00:00+02:00", h.Schedule.LastFired!.Local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture));
        await h.FireAsync("2026-03-30T00:30:00Z"); // the next night at 02:30 CEST
        Assert.Equal([Id("2026-03-29T01:00:00Z"), Id("2026-03-30T00:30:00Z")], h.HandledIds);
    }

    [Fact]
    public async Task Berlin_fall_back_an_occurrence_in_the_repeated_hour_fires_once()
    {
        // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice (00:30Z and 01:30Z).
        await using var h = new ScheduleHarness(Def("30 2 * * *", "Europe/Berlin"), At("2026-10-24T12:00:00Z"));
        await h.StartAsync();

        await h.FireAsync("2026-10-25T00:30:00Z");
        await h.WaitForNextAsync("2026-10-26T01:30:00Z"); // not 2026-10-25T01:30Z, the second 02:30
        Assert.Equal([Id("2026-10-25T00:30:00Z")], h.HandledIds);
        Assert.Equal(["2026-10-26T02:30:00+01:00", "2026-10-27T02:30:00+01:00", "2026-10-28T02:30:00+01:00"],
            h.Schedule.Next.Select(t => t.Local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Berlin_fall_back_an_interval_expression_fires_in_both_passes_of_the_repeated_hour()
    {
        await using var h = new ScheduleHarness(Def("*/30 2 * * *", "Europe/Berlin"), At("2026-10-24T23:50:00Z"));
        await h.StartAsync();

        foreach (var at in new[] { "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z" })
            await h.FireAsync(at);
        Assert.Equal(4, h.HandledIds.Count);
        await h.WaitForNextAsync("2026-10-26T01:00:00Z");
    }

    [Fact]
    public async Task New_York_spring_forward_and_fall_back()
    {
        // 2026-03-08: 02:00 EST becomes 03:00 EDT. 2026-11-01: 02:00 EDT becomes 01:00 EST (01:30 happens twice).
        await using var spring = new ScheduleHarness(Def("30 2 * * *", "America/New_York"), At("2026-03-07T12:00:00Z"));
        await spring.StartAsync();
        await spring.FireAsync("2026-03-08T07:00:00Z"); // 03:00 EDT, when the clock jumps
        await spring.FireAsync("2026-03-09T06:30:00Z");

        await using var fall = new ScheduleHarness(Def("30 1 * * *", "America/New_York"), At("2026-10-31T12:00:00Z"));
        await fall.StartAsync();
        await fall.FireAsync("2026-11-01T05:30:00Z"); // 01:30 EDT, the first pass
        await fall.WaitForNextAsync("2026-11-02T06:30:00Z"); // not 06:30Z on the 1st (01:30 EST, the second pass)
        Assert.Equal([Id("2026-11-01T05:30:00Z")], fall.HandledIds);
    }

    [Fact]
    public async Task The_29th_of_February_fires_in_leap_years_only()
    {
        await using var h = new ScheduleHarness(Def("0 0 29 2 *"), At("2026-01-01T00:00:00Z"));
        await h.StartAsync();
        await h.WaitForNextAsync("2028-02-29T00:00:00Z");
        Assert.Equal([At("2028-02-29T00:00:00Z"), At("2032-02-29T00:00:00Z"), At("2036-02-29T00:00:00Z")], h.Schedule.Next.Select(t => t.Utc));

        h.Time.SetUtcNow(At("2028-02-28T23:59:30Z"));
        await h.FireAsync("2028-02-29T00:00:00Z");
        await h.WaitForNextAsync("2032-02-29T00:00:00Z");
    }

    [Fact]
    public async Task The_31st_fires_in_the_seven_months_that_have_one()
    {
        await using var h = new ScheduleHarness(Def("0 0 31 * *"), At("2026-01-01T00:00:00Z"));
        await h.StartAsync();
        string[] expected = ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31", "2026-12-31"];
        foreach (var day in expected)
            await h.FireAsync(day + "T00:00:00Z");
        Assert.Equal(expected.Select(d => Id(d + "T00:00:00Z")), h.HandledIds);
        await h.WaitForNextAsync("2027-01-31T00:00:00Z");
    }

    [Fact]
    public async Task A_six_field_expression_fires_on_seconds()
    {
        await using var h = new ScheduleHarness(Def("*/15 * * * * *"), At("2026-05-01T10:00:01Z"));
        await h.StartAsync();
        foreach (var at in new[] { "2026-05-01T10:00:15Z", "2026-05-01T10:00:30Z", "2026-05-01T10:00:45Z", "2026-05-01T10:01:00Z" })
            await h.FireAsync(at);
        Assert.Equal(4, h.HandledIds.Count);
        Assert.Equal(4, h.Schedule.Fired);
        Assert.All(h.HandledTasks, t => Assert.Equal(ScheduledTaskIds.Format(t.Task.Time), t.Headers[ScheduledTaskIds.OccurrenceHeader]));
    }

    [Fact]
    public async Task RunOnce_after_a_gap_publishes_one_catch_up_carrying_the_missed_times_then_goes_on()
    {
        await using var h = new ScheduleHarness(Def("0 * * * *") with { Missed = MissedPolicy.RunOnce }, At("2026-05-01T09:30:00Z"));
        await h.StartAsync();
        await h.FireAsync("2026-05-01T10:00:00Z");
        await h.WaitForNextAsync("2026-05-01T11:00:00Z");

        // The process stalls for five hours (as if it had not run): 11:00-14:00 are missed, 15:00 is 20 s late, still on time.
        h.Time.SetUtcNow(At("2026-05-01T15:00:20Z"));
        await Eventually.TrueAsync(() => h.HandledTasks.Count == 3, "the catch-up and 15:00 are handled");

        var catchUp = h.HandledTasks.Single(t => t.Task.IsCatchUp);
        Assert.Equal(Id("2026-05-01T14:00:00Z"), catchUp.TaskId); // the id of the last missed occurrence
        Assert.Equal(4, catchUp.Task.MissedCount);
        Assert.Equal([At("2026-05-01T11:00:00Z"), At("2026-05-01T12:00:00Z"), At("2026-05-01T13:00:00Z"), At("2026-05-01T14:00:00Z")], catchUp.Task.Missed);
        Assert.Equal("4", catchUp.Headers[ScheduledTaskIds.MissedHeader]);
        Assert.Contains(Id("2026-05-01T15:00:00Z"), h.HandledIds);
        await h.WaitForNextAsync("2026-05-01T16:00:00Z");
        Assert.Equal((4, 1, 2), (h.Schedule.Missed, h.Schedule.CatchUps, h.Schedule.Fired));
    }

    [Fact]
    public async Task Skip_after_a_gap_publishes_nothing_for_the_missed_span_and_counts_it()
    {
        await using var h = new ScheduleHarness(Def("0 * * * *"), At("2026-05-01T09:30:00Z"));
        await h.StartAsync();
        await h.FireAsync("2026-05-01T10:00:00Z");
        await h.WaitForNextAsync("2026-05-01T11:00:00Z");

        h.Time.SetUtcNow(At("2026-05-01T15:30:00Z"));
        await h.WaitForNextAsync("2026-05-01T16:00:00Z");
        Assert.Equal([Id("2026-05-01T10:00:00Z")], h.HandledIds);
        Assert.Equal(5, h.Schedule.Missed); // 11:00 to 15:00
        Assert.Equal(At("2026-05-01T15:00:00Z"), h.Schedule.LastFired!.Utc);
    }

    [Fact]
    public async Task Overlap_Skip_skips_occurrences_while_the_previous_task_is_unsettled_and_counts_them()
    {
        await using var h = new ScheduleHarness(Def("* * * * *") with { Overlap = OverlapPolicy.Skip }, At("2026-05-01T10:00:30Z"))
        {
            Gate = new SemaphoreSlim(0),
        };
        await h.StartAsync();
        await h.FireAsync("2026-05-01T10:01:00Z"); // handled, and held by the gate: unsettled

        foreach (var at in new[] { "2026-05-01T10:02:00Z", "2026-05-01T10:03:00Z" })
        {
            await h.WaitForNextAsync(at);
            h.Time.SetUtcNow(At(at));
        }
        await h.WaitForNextAsync("2026-05-01T10:04:00Z");
        Assert.Equal(2, h.Schedule.Skipped);
        Assert.Equal([Id("2026-05-01T10:01:00Z")], h.HandledIds);

        h.Gate!.Release(100); // the 10:01 task settles
        var queue = h.Runtime.GetQueue<Tick>("ticks");
        await Eventually.TrueAsync(async () => (await queue.GetStatsAsync()).InFlight == 0, "the 10:01 task is settled");
        // The source learns of the settlement just after the ack (its overlap check asks it, the in-memory queue cannot).
        await Eventually.TrueAsync(() => !h.Runtime.Sources.Undrained().Any(u => u.Unsettled > 0), "the source counts the 10:01 task settled");
        await h.FireAsync("2026-05-01T10:04:00Z");
        Assert.Equal(2, h.Schedule.Skipped);
        Assert.Equal(2, h.Schedule.Fired);
    }

    [Fact]
    public async Task Overlap_Allow_lets_tasks_queue_up()
    {
        await using var h = new ScheduleHarness(Def("* * * * *"), At("2026-05-01T10:00:30Z")) { Gate = new SemaphoreSlim(0) };
        await h.StartAsync();
        foreach (var at in new[] { "2026-05-01T10:01:00Z", "2026-05-01T10:02:00Z", "2026-05-01T10:03:00Z" })
            await h.FireAsync(at);
        Assert.Equal(0, h.Schedule.Skipped);
    }

    [Fact]
    public async Task A_paused_source_skips_occurrences_and_counts_them()
    {
        await using var h = new ScheduleHarness(Def("* * * * *"), At("2026-05-01T10:00:30Z"));
        await h.StartAsync();
        await h.FireAsync("2026-05-01T10:01:00Z");
        var control = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<ControlPlaneService>(h.Provider);
        control.PauseSource(Source);
        await h.WaitForNextAsync("2026-05-01T10:02:00Z");
        h.Time.SetUtcNow(At("2026-05-01T10:02:00Z"));
        await Eventually.TrueAsync(() => h.Snapshot.Schedule!.SkippedWhilePaused == 1, "the occurrence is skipped while paused");
        control.ResumeSource(Source);
        await h.FireAsync("2026-05-01T10:03:00Z");
        Assert.Equal([Id("2026-05-01T10:01:00Z"), Id("2026-05-01T10:03:00Z")], h.HandledIds);
    }

    [Fact]
    public async Task A_valid_reload_applies_from_the_next_occurrence_and_an_invalid_one_keeps_the_schedule()
    {
        var settings = new Dictionary<string, string?>();
        await using var h = new ScheduleHarness(Def("0 * * * *"), At("2026-05-01T09:30:00Z"), settings);
        await h.StartAsync();
        await h.WaitForNextAsync("2026-05-01T10:00:00Z");

        h.Configuration["AppRuntime:Sources:ticks:Cron"] = "*/5 * * * *";
        h.Configuration["AppRuntime:Sources:ticks:TimeZone"] = "Mars/Olympus"; // refused: the whole reload is
        var refused = h.Config.Reload();
        Assert.False(refused.Applied);
        Assert.Contains(refused.Errors, e => e.KeyPath == "AppRuntime:Sources:ticks:TimeZone");
        await h.FireAsync("2026-05-01T10:00:00Z"); // unchanged

        h.Configuration["AppRuntime:Sources:ticks:Cron"] = "*/10 * * * *";
        h.Configuration["AppRuntime:Sources:ticks:TimeZone"] = "Europe/Berlin";
        Assert.True(h.Config.Reload().Applied);
        await h.FireAsync("2026-05-01T10:10:00Z");
        Assert.Equal("*/10 * * * *", h.Schedule.Cron);
        Assert.Equal("Europe/Berlin", h.Schedule.TimeZone);
    }

    [Fact]
    public async Task Invalid_overrides_are_reported_at_start_with_every_other_configuration_error()
    {
        await using var h = new ScheduleHarness(Def("0 * * * *"), At("2026-05-01T09:30:00Z"), new Dictionary<string, string?>
        {
            ["AppRuntime:Sources:ticks:Cron"] = "61 * * * *",
            ["AppRuntime:Sources:ticks:TimeZone"] = "W. Europe Standard Time",
            ["AppRuntime:Sources:ticks:Missed"] = "Sometimes",
            ["AppRuntime:Sources:tikcs:Cron"] = "0 * * * *",
            ["AppRuntime:Pools:ticks:Workers"] = "0",
        });
        var error = await Assert.ThrowsAsync<ConfigValidationException>(h.StartAsync);
        var keys = error.Errors.Select(e => e.KeyPath).ToList();
        Assert.Contains("AppRuntime:Sources:ticks:Cron", keys);
        Assert.Contains("AppRuntime:Sources:ticks:Missed", keys);
        Assert.Contains("AppRuntime:Sources:tikcs", keys); // a source nobody declared
        Assert.Contains("AppRuntime:Pools:ticks:Workers", keys);
        var zone = Assert.Single(error.Errors, e => e.KeyPath == "AppRuntime:Sources:ticks:TimeZone");
        Assert.Contains("Europe/Berlin", zone.Message, StringComparison.Ordinal); // the IANA id to use instead
    }
}
