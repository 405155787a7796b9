using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// Access control in headless Chromium, as a person uses it: the sign-in page, an operator's view and action, sign-out, a session an
/// admin revokes, and pages of another origin that try to act with the operator's cookie (a form POST and a fetch with credentials).
/// Saves the sign-in page and the audit panel to artifacts/ (docs/ with APPRUNTIME_UPDATE_SCREENSHOT=1).
/// </summary>
[Trait("Category", "Integration")]
public sealed class AccessBrowserIntegrationTests
{
    private static SampleBehaviour Busy => new()
    {
        OrderInterval = TimeSpan.FromMilliseconds(60),
        EmailInterval = TimeSpan.FromMilliseconds(200),
        HandlerTime = TimeSpan.FromMilliseconds(20),
        FailEvery = 13,
    };

    [Fact]
    public async Task An_operator_signs_in_views_a_payload_pauses_a_source_signs_out_and_a_revoked_admin_session_ends()
    {
        await using var host = await TestHost.StartAsync(b => Sample.Compose(b, Busy));
        await using var browser = await Cdp.LaunchAsync(1280, 900);

        // The sign-in page; a wrong password is refused in the page.
        await browser.NavigateAsync(host.BaseAddress + "login");
        await browser.WaitAsync("document.body.dataset.ready === 'true'", "the sign-in page has its token");
        await SaveAsync(await browser.ScreenshotAsync(), "login.png");
        await TypeCredentialsAsync(browser, Identities.Operator, "not the password at all");
        await browser.WaitAsync("document.querySelector('#login-error').textContent.includes('wrong')", "the page says the password is wrong");
        Assert.Equal("/login", (await browser.EvaluateAsync("location.pathname")).GetString());

        // Sign in as the operator: the dashboard shows who and which role; payloads and traces are there.
        await SignInAsync(browser, host, Identities.Operator);
        Assert.Equal("otto · operator", await browser.TextAsync("#identity"));
        Assert.True((await browser.EvaluateAsync("document.querySelector('#audit-section').hidden")).GetBoolean(), "no audit panel for an operator");
        await browser.WaitAsync("document.querySelectorAll('#deadletters tr[data-task]').length > 0", "dead letters are listed");
        await browser.WaitAsync("document.querySelector('#deadletters td[data-field=\"preview\"]').textContent.includes('Order')", "a payload preview is shown");
        await browser.ClickAsync("#deadletters button[data-action=\"view-payload\"]");
        await browser.WaitAsync("!document.querySelector('#payload-view').hidden && document.querySelector('#payload-text').textContent.includes('Number')", "the whole payload is shown");
        var viewed = (await browser.EvaluateAsync("document.querySelector('#payload-view').dataset.task")).GetString()!;
        Assert.Contains(host.Control.Audit.GetRecent(20), a => a.Action == AuditActions.DeadLetterView && a.Actor == Identities.Operator && a.Target == "orders/" + viewed);

        // An operator action.
        await browser.WaitAsync("!document.querySelector('button[data-action=\"pause-source\"][data-name=\"order-feed\"]').disabled", "the operator may pause");
        await browser.ClickAsync("button[data-action=\"pause-source\"][data-name=\"order-feed\"]");
        await browser.WaitAsync("document.querySelector('#sources-table tr[data-source=\"order-feed\"]').dataset.state === 'paused'", "the source shows paused");
        Assert.True(host.Control.GetSources().Single(s => s.Name == "order-feed").Paused);

        // Sign out: back at the sign-in page, and the server holds no session.
        await browser.ClickAsync("#sign-out");
        await browser.WaitAsync("location.pathname === '/login' && location.search.includes('signedout')", "the page returns to the sign-in page");
        Assert.Equal(0, Sessions(host).Count);
        var afterLogout = await browser.EvaluateAsync("fetch('/api/traces/recent').then(r => r.status)");
        Assert.Equal(401, afterLogout.GetInt32());

        // An admin session that another admin revokes ends at the page's next poll.
        await SignInAsync(browser, host, Identities.Admin);
        await browser.WaitAsync("document.querySelectorAll('#audit-table tr[data-action=\"logout\"]').length > 0", "the audit panel lists the sign-out");
        await browser.WaitAsync("document.querySelectorAll('#sessions-table tr[data-session]').length === 1", "the sessions panel lists this session");
        await browser.EvaluateAsync("document.querySelectorAll('.message').forEach(m => m.remove())");
        await browser.MoveMouseAsync(1, 1);
        await SaveAsync(await browser.ScreenshotElementAsync("#audit-section"), "audit.png");
        var id = (await browser.EvaluateAsync("document.querySelector('#sessions-table tr[data-session]').dataset.session")).GetString();
        using (var revoke = await host.PostAsync($"/api/sessions/{id}/revoke", token: Identities.AdminKey.Key))
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        await browser.WaitAsync("location.pathname === '/login' && location.search.includes('expired')", "the revoked session is sent to the sign-in page");
        Assert.Contains("ended", await browser.TextAsync("#login-reason") ?? "", StringComparison.Ordinal);
        Assert.Empty(browser.UnexpectedErrors);
    }

    [Fact]
    public async Task Pages_of_another_origin_cannot_act_with_the_operators_cookie_by_form_or_by_fetch()
    {
        await using var host = await TestHost.StartAsync();
        await using var evil = await StartSiteAsync(host.BaseAddress);
        await using var browser = await Cdp.LaunchAsync(1000, 700);
        await SignInAsync(browser, host, Identities.Operator);
        var before = host.Control.Audit.GetRecent(1).Single().Sequence;

        // 127.0.0.1 on another port: another origin, but the same site, so even the SameSite=Strict cookie goes along.
        await browser.NavigateAsync(evil.Urls.Single() + "/fetch");
        await browser.WaitAsync("document.body.dataset.done === 'true'", "the other origin's fetch went out");
        await AppRuntime.TestSupport.Eventually.TrueAsync(() => Task.FromResult(host.Control.Audit.GetRecent(10).Any(a => a.Sequence > before && a.Action == AuditActions.SourcePause)),
            "the refused fetch is audited");
        var fetchRecord = host.Control.Audit.GetRecent(10).First(a => a.Action == AuditActions.SourcePause);
        Assert.Equal((AuditResult.Denied, Identities.Operator), (fetchRecord.Result, fetchRecord.Actor)); // the cookie arrived; the check refused
        Assert.Contains("same-site", fetchRecord.Detail, StringComparison.Ordinal);
        Assert.False(host.Control.GetSources().Single(s => s.Name == "order-feed").Paused);

        await browser.NavigateAsync(evil.Urls.Single() + "/form");
        await browser.WaitAsync($"location.href.startsWith('{host.BaseAddress}api/pools/orders/pause') && document.readyState === 'complete'", "the form posted to the control plane");
        Assert.Contains("Cross-site request refused", await browser.TextAsync("body") ?? "", StringComparison.Ordinal);
        var formRecord = host.Control.Audit.GetRecent(10).First(a => a.Action == AuditActions.PoolPause);
        Assert.Equal((AuditResult.Denied, Identities.Operator), (formRecord.Result, formRecord.Actor));
        Assert.False(host.Control.GetPools().Single(p => p.Queue == "orders").Paused);

        // The same action from the dashboard itself works.
        await browser.NavigateAsync(host.BaseAddress + "");
        await browser.WaitAsync("document.querySelector('button[data-action=\"pause-pool\"][data-name=\"orders\"]') && !document.querySelector('button[data-action=\"pause-pool\"][data-name=\"orders\"]').disabled", "the dashboard is ready");
        await browser.ClickAsync("button[data-action=\"pause-pool\"][data-name=\"orders\"]");
        await AppRuntime.TestSupport.Eventually.TrueAsync(() => Task.FromResult(host.Control.GetPools().Single(p => p.Queue == "orders").Paused), "the dashboard pauses the pool");
    }

    /// <summary>Signs in through the sign-in page like a person and waits for the dashboard.</summary>
    internal static async Task SignInAsync(Cdp browser, TestHost host, string user)
    {
        await browser.NavigateAsync(host.BaseAddress + "login");
        await browser.WaitAsync("document.body.dataset.ready === 'true'", "the sign-in page has its token");
        await TypeCredentialsAsync(browser, user, Identities.Password(user));
        await browser.WaitAsync("location.pathname === '/' && document.querySelector('#identity') && document.querySelector('#identity').dataset.kind === 'User'", $"the dashboard shows {user} signed in");
    }

    private static async Task TypeCredentialsAsync(Cdp browser, string user, string password)
    {
        await browser.EvaluateAsync("document.querySelector('#login-user').value = ''; document.querySelector('#login-password').value = ''");
        await browser.ClickAsync("#login-user");
        await browser.InsertTextAsync(user);
        await browser.ClickAsync("#login-password");
        await browser.InsertTextAsync(password);
        await browser.ClickAsync("#login-submit");
    }

    private static AppRuntime.Internal.SessionStore Sessions(TestHost host) =>
        host.Host.Services.GetRequiredService<AppRuntime.Internal.ControlPlaneHostedService>().Sessions!;

    /// <summary>Another origin on loopback: a page that fetches with credentials, and one that posts a form.</summary>
    private static async Task<WebApplication> StartSiteAsync(Uri controlPlane)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.UseRouting();
        var target = controlPlane.ToString().TrimEnd('/');
        app.MapGet("/fetch", context => Html(context, $$"""
            <script>
            fetch('{{target}}/api/sources/order-feed/pause', { method: 'POST', credentials: 'include', mode: 'no-cors', body: '{}' })
              .finally(() => { document.body.dataset.done = 'true'; });
            </script>
            """));
        app.MapGet("/form", context => Html(context, $$"""
            <form id="f" method="post" action="{{target}}/api/pools/orders/pause"><input type="hidden" name="x" value="1"></form>
            <script>document.getElementById('f').submit();</script>
            """));
        await app.StartAsync();
        return app;
    }

    private static Task Html(HttpContext context, string body)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.WriteAsync("<!doctype html><html><body>" + body + "</body></html>");
    }

    private static async Task SaveAsync(byte[] png, string name)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        var target = Environment.GetEnvironmentVariable("APPRUNTIME_UPDATE_SCREENSHOT") == "1"
            ? Path.Combine(DashboardBrowserIntegrationTests.RepositoryRoot(), "docs", name)
            : Path.Combine(DashboardBrowserIntegrationTests.RepositoryRoot(), "artifacts", name);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        await File.WriteAllBytesAsync(target, png);
    }
}
