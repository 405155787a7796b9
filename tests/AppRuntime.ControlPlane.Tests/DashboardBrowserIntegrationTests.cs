using System.Globalization;
using System.Text.Json;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// Loads the dashboard of a running sample runtime in headless Chromium (Debian package, installed by
/// <c>bash tests/infra/chromium.sh start</c>) and uses it like an operator: sees the topology, watches counters move as an anonymous
/// viewer, signs in, pauses a source and sees its state change. Saves a screenshot to artifacts/dashboard.png (docs/dashboard.png with APPRUNTIME_UPDATE_SCREENSHOT=1).
/// </summary>
[Trait("Category", "Integration")]
public sealed class DashboardBrowserIntegrationTests
{
    [Fact]
    public async Task The_dashboard_shows_the_live_topology_to_a_viewer_and_pauses_a_source_after_sign_in()
    {
        var behaviour = new SampleBehaviour
        {
            OrderInterval = TimeSpan.FromMilliseconds(40),
            EmailInterval = TimeSpan.FromMilliseconds(150),
            HandlerTime = TimeSpan.FromMilliseconds(60),
            FailEvery = 17,
        };
        await using var host = await TestHost.StartAsync(b =>
        {
            Sample.Compose(b, behaviour);
            b.AddScheduledSource(NightlyOrders.Definition, _ => new NightlyOrders());
        });
        await using var browser = await Cdp.LaunchAsync(1400, 900);

        await browser.NavigateAsync(host.BaseAddress + "");

        // The topology is drawn: every source, queue, pool and handler is a node, with edges between them.
        await browser.WaitAsync("document.querySelectorAll('#topology-svg g[data-kind]').length === 8", "the eight topology nodes are drawn");
        foreach (var (kind, name) in new[] { ("source", "order-feed"), ("source", "mail-poller"), ("queue", "orders"), ("queue", "emails"), ("pool", "orders"), ("pool", "emails"), ("handler", "orders"), ("handler", "emails") })
            Assert.True((await browser.EvaluateAsync($"!!document.querySelector('#topology-svg g[data-kind=\"{kind}\"][data-name=\"{name}\"]')")).GetBoolean(), $"{kind} {name} is drawn");
        Assert.Equal(6, (await browser.EvaluateAsync("document.querySelectorAll('#topology-svg path[data-edge]').length")).GetInt32());
        Assert.Equal("OrderHandler", await browser.TextAsync("#topology-svg g[data-kind=\"handler\"][data-name=\"orders\"] [data-role=\"title\"]"));

        // The instances panel: without a shared backend the cluster is this process, shown alive with its pools.
        await browser.WaitAsync("document.querySelectorAll('#cluster-table tr[data-instance]').length === 1", "the instances panel lists this process");
        Assert.EndsWith("(this one)", await browser.TextAsync("#cluster-table tr[data-instance] [data-field=\"id\"]") ?? "", StringComparison.Ordinal);
        Assert.Equal("alive", await browser.TextAsync("#cluster-table tr[data-instance] [data-field=\"state\"]"));
        Assert.Contains("orders ×3", await browser.TextAsync("#cluster-table tr[data-instance] [data-field=\"pools\"]") ?? "", StringComparison.Ordinal);
        Assert.Equal("this process only (no shared backend)", await browser.TextAsync("#cluster-note"));

        // The scheduled source's row shows its expression and zone and its next three occurrences.
        await browser.WaitAsync("document.querySelectorAll('#sources-table tr[data-source=\"nightly-orders\"] [data-field=\"next\"] .occurrence').length === 3",
            "the next three occurrences of the scheduled source are shown");
        Assert.Equal("0 7 * * MON-FRI · Europe/Berlin", await browser.TextAsync("#sources-table tr[data-source=\"nightly-orders\"] [data-field=\"cron\"]"));

        // Counters change as the runtime works: the acked count on the queue node grows between polls.
        await browser.WaitAsync("document.querySelector('#runtime-state').dataset.state === 'Running'", "the runtime state is shown");
        await browser.WaitAsync("Number(document.querySelector('g[data-kind=\"queue\"][data-name=\"orders\"]').dataset.acked) > 0", "the orders queue shows acked tasks");
        var acked = await AckedAsync(browser);
        await browser.WaitAsync($"Number(document.querySelector('g[data-kind=\"queue\"][data-name=\"orders\"]').dataset.acked) > {acked}", "the acked counter grows");
        await browser.WaitAsync("/[0-9]/.test(document.querySelector('#queues-table tr[data-queue=\"orders\"] [data-field=\"rate\"]').textContent)", "a rate is computed");
        await browser.WaitAsync("document.querySelectorAll('#deadletters p[data-deadletters]').length > 0", "dead-letter counts are listed (no payloads for a viewer)");
        await browser.WaitAsync("document.querySelectorAll('#pools-table tr[data-pool=\"orders\"] .worker').length === 3", "the three order workers are shown");

        // Anonymous on loopback is a viewer: the page says so, the actions are disabled and nothing changes on the server.
        Assert.Equal("anonymous · viewer", await browser.TextAsync("#identity"));
        Assert.True((await browser.EvaluateAsync("document.querySelector('button[data-action=\"pause-source\"][data-name=\"order-feed\"]').disabled")).GetBoolean());
        await browser.ClickAsync("button[data-action=\"pause-source\"][data-name=\"order-feed\"]");
        Assert.False(await SourcePausedAsync(host, "order-feed"));
        Assert.Contains("operator role", (await browser.TextAsync("#traces-table tbody")) ?? "", StringComparison.Ordinal);

        // Sign in like a user (as admin, so the picture shows every panel), then pause the source.
        await AccessBrowserIntegrationTests.SignInAsync(browser, host, Identities.Admin);
        await browser.WaitAsync("document.querySelectorAll('#topology-svg g[data-kind]').length === 8", "the topology is drawn again");
        await browser.WaitAsync("document.querySelector('button[data-action=\"pause-source\"][data-name=\"order-feed\"]') && !document.querySelector('button[data-action=\"pause-source\"][data-name=\"order-feed\"]').disabled", "the pause button is enabled");
        await browser.ClickAsync("button[data-action=\"pause-source\"][data-name=\"order-feed\"]");
        await browser.WaitAsync("document.querySelector('#sources-table tr[data-source=\"order-feed\"]').dataset.state === 'paused'", "the sources table shows the source paused");
        await browser.WaitAsync("document.querySelector('g[data-kind=\"source\"][data-name=\"order-feed\"]').dataset.paused === 'true'", "the topology node shows the source paused");
        Assert.True(await SourcePausedAsync(host, "order-feed"));
        Assert.False(await SourcePausedAsync(host, "mail-poller"));

        // Resume it again from the page, and let the counters run for the screenshot.
        await browser.ClickAsync("button[data-action=\"resume-source\"][data-name=\"order-feed\"]");
        await browser.WaitAsync("document.querySelector('#sources-table tr[data-source=\"order-feed\"]').dataset.state !== 'paused'", "the source runs again");
        Assert.False(await SourcePausedAsync(host, "order-feed"));
        await browser.WaitAsync("document.querySelectorAll('#traces-table tr[data-task]').length > 0", "recent traces are listed");
        await browser.WaitAsync("document.querySelectorAll('#deadletters tr[data-task]').length > 0", "dead letters are listed with previews");
        var polls = (await browser.EvaluateAsync("Number(document.body.dataset.polls)")).GetInt32();
        await browser.WaitAsync($"Number(document.body.dataset.polls) >= {polls + 3}", "a few more polls");
        await browser.EvaluateAsync("document.querySelectorAll('.message').forEach(m => m.remove())");
        await browser.MoveMouseAsync(1, 1); // no hover outline in the picture

        var png = await browser.ScreenshotAsync();
        Assert.True(png.Length > 10_000, $"the screenshot has {png.Length} bytes");
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        // docs/dashboard.png is refreshed on request only, so a test run leaves the work tree clean.
        var target = Environment.GetEnvironmentVariable("APPRUNTIME_UPDATE_SCREENSHOT") == "1"
            ? Path.Combine(RepositoryRoot(), "docs", "dashboard.png")
            : Path.Combine(RepositoryRoot(), "artifacts", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllBytesAsync(target, png);

        await browser.WaitAsync("document.querySelectorAll('#audit-table tr[data-action=\"source.pause\"]').length > 0", "the audit panel shows the pause");
        Assert.True(browser.PageErrors.IsEmpty, "the page reported errors: " + string.Join(" | ", browser.PageErrors));
    }

    private static async Task<long> AckedAsync(Cdp browser)
    {
        var value = await browser.EvaluateAsync("document.querySelector('g[data-kind=\"queue\"][data-name=\"orders\"]').dataset.acked");
        return long.Parse(value.GetString()!, CultureInfo.InvariantCulture);
    }

    private static async Task<bool> SourcePausedAsync(TestHost host, string name) =>
        (await host.GetJsonAsync("/api/sources")).EnumerateArray().Single(s => s.GetProperty("name").GetString() == name).GetProperty("paused").GetBoolean();

    /// <summary>The repository root: the folder above the test binaries that holds Directory.Packages.props.</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(dir.FullName, "docs")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Could not find the repository root above " + AppContext.BaseDirectory);
    }
}
