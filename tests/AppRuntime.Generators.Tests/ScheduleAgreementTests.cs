using AppRuntime.Generators.Scheduling;

namespace AppRuntime.Generators.Tests;

/// <summary>
/// The generator's build-time verdict on a schedule (Cronos bundled beside it, a fixed list of IANA ids) against the runtime's
/// (AppRuntime.Scheduling's CronSchedule on this machine's time-zone database), over more than 200 expressions, valid and invalid.
/// </summary>
public sealed class ScheduleAgreementTests
{
    private static readonly string[] Handwritten =
    [
        // valid, five fields
        "* * * * *", "0 7 * * MON-FRI", "*/5 * * * *", "0 0 1 * *", "0 0 L * *", "0 0 LW * *", "0 0 15W * *", "0 0 * * 5L", "0 0 * * MON#2",
        "0 0 ? * *", "0 12 * JAN,JUL *", "30 2 * * *", "0 0 31 * *", "0 0 29 2 *", "0 0 29 2 MON", "1-59/2 * * * *", "0 9-17 * * 1-5",
        "0 0 1,15 * *", "0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 L-3 * *", "0 0 1 1 *", "5,10,15 1,2,3 * * *", "  0  7  *  *  *  ",
        "H * * * *", "H H * * *", "0 H(0-5) * * *", "H/15 * * * *",
        // valid, six fields (seconds first)
        "* * * * * *", "*/15 * * * * *", "0 0 7 * * MON-FRI", "30 30 2 * * *", "0 0 0 31 * *", "0 0 0 29 2 *", "5-24 31 10 6 12 *", "H * * * * *",
        // macros
        "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every_minute", "@every_second",
        // never fire
        "0 0 30 2 *", "0 0 31 4 *", "0 0 31 6 *", "0 0 31 9 *", "0 0 31 11 *", "0 0 0 30 2 *", "0 0 30 2 MON",
        // invalid
        "", " ", "*", "* *", "* * *", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "* * 32 * *", "* * 0 * *", "* * * 13 *", "* * * 0 *",
        "* * * * 8", "61 * * * * *", "a * * * *", "* * * FOO *", "* * * * FOO", "5-1 * * * *", "*/0 * * * *", "0 0 L * MON#6", "0 0 32W * *",
        "@fortnightly", "@", "0 0 * * MON#0", "0 0 ? ? *", "1,,2 * * * *", "-1 * * * *", "0 0 1-32 * *", "*/60 * * * *", "0 0 L-31 * *",
        "0 0 * * 1L,2", "# * * * *", "0 0 7 * * MON 2027", "0 7 * * MON-FRI extra", "\t0 7 * * *",
    ];

    /// <summary>Handwritten cases plus generated ones: every field with values in, at and past its range, steps and ranges.</summary>
    public static TheoryData<string> Expressions()
    {
        var all = new List<string>(Handwritten);
        string[] minute = ["0", "59", "60", "*/7", "10-20", "20-10", "*/61", "5,70"];
        string[] hour = ["0", "23", "24", "*/6", "1-3"];
        string[] dom = ["1", "31", "32", "L", "15W", "0", "?"];
        string[] month = ["1", "12", "13", "FEB", "DEC", "JAN-MAR"];
        string[] dow = ["0", "7", "8", "MON", "FRI#3", "5L", "*", "MON-SUN"];
        var i = 0;
        foreach (var m in minute)
            foreach (var h in hour)
                foreach (var d in dom)
                {
                    var expression = $"{m} {h} {d} {month[i % month.Length]} {dow[i % dow.Length]}";
                    all.Add(expression);
                    if (i % 3 == 0)
                        all.Add("0 " + expression); // six fields
                    i++;
                }
        return new TheoryData<string>(all.Distinct(StringComparer.Ordinal));
    }

    [Fact]
    public void There_are_at_least_200_distinct_expressions_valid_and_invalid()
    {
        IEnumerable<object[]> rows = Expressions();
        var expressions = rows.Select(row => (string)row[0]).ToList();
        Assert.True(expressions.Count >= 200, $"{expressions.Count} expressions");
        Assert.True(expressions.Count(e => CronSchedule.CheckExpression(e) is null) >= 50);
        Assert.True(expressions.Count(e => CronSchedule.CheckExpression(e) is not null) >= 50);
    }

    [Theory]
    [MemberData(nameof(Expressions))]
    public void The_generator_and_the_runtime_agree_on_an_expression(string expression)
    {
        var atBuild = ScheduleChecks.CheckExpression(expression, "nightly", out var neverFires);
        var atRuntime = CronSchedule.CheckExpression(expression);
        Assert.Equal(atRuntime is null, atBuild is null);
        if (atRuntime is null)
        {
            Assert.Equal(CronSchedule.Parse(expression, "UTC", "nightly").NeverFires, neverFires);
        }
        else
        {
            Assert.EndsWith(atBuild!, atRuntime, StringComparison.Ordinal); // the runtime quotes Cronos's reason too
        }
    }

    [Fact]
    public void The_seed_of_H_is_the_same_at_build_and_at_runtime()
    {
        foreach (var name in new[] { "nightly", "reports", "a", "daily-report", "ticker", "x.y:z" })
            Assert.Equal(CronSchedule.Seed(name), ScheduleChecks.Seed(name));
    }

    [Fact]
    public void Every_time_zone_the_generator_accepts_the_runtime_accepts_and_Windows_ids_are_refused_by_both()
    {
        Assert.True(TimeZoneIds.Iana.Count > 500);
        foreach (var id in TimeZoneIds.Iana)
            Assert.True(CronSchedule.CheckTimeZone(id) is null, $"{id}: {CronSchedule.CheckTimeZone(id)}");
        foreach (var (windows, iana) in TimeZoneIds.Windows.Where(w => !TimeZoneIds.Iana.Contains(w.Key)))
        {
            Assert.NotNull(ScheduleChecks.CheckTimeZone(windows));
            Assert.Contains(iana, CronSchedule.CheckTimeZone(windows) ?? "", StringComparison.Ordinal);
        }
        foreach (var bad in new[] { "", "Europe/Berln", "Mars/Olympus", "Local", "GMT+1" })
        {
            Assert.NotNull(ScheduleChecks.CheckTimeZone(bad));
            Assert.NotNull(CronSchedule.CheckTimeZone(bad));
        }
    }
}
