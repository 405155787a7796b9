using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Runs the control plane's Kestrel server as a hosted service of the application's generic host. The web application is a
/// minimal one of its own (empty builder, Kestrel core, routing core): it shares the application's logger factory, not its
/// configuration or lifetime, so <c>ASPNETCORE_*</c> settings and console signals reach only the application's host.
/// </summary>
internal sealed partial class ControlPlaneHostedService(Func<ControlPlaneOptions> getOptions, ControlPlaneService control,
    ILoggerFactory loggers, TimeProvider time) : IHostedService, IControlPlaneServer, IAsyncDisposable, IDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger("AppRuntime.ControlPlane");
    private WebApplication? _app;
    private LoginThrottle? _throttle;
    private volatile IReadOnlyList<Uri> _addresses = [];

    public bool IsRunning => _app is not null;

    public IReadOnlyList<Uri> Addresses => _addresses;

    /// <summary>The sessions of the running server (for tests).</summary>
    internal SessionStore? Sessions { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Read when starting: the settings are bound (and checked, with every other section) then, not when the host is built.
        var options = getOptions();
        if (!options.Enabled)
        {
            Log.Disabled(_logger);
            return;
        }
        // The rules (addresses, TLS, hosts, identities) were checked with the rest of the configuration (AccessRules.Validate).
        var addresses = ListenAddresses.Parse(options.Urls);
        var loopbackOnly = addresses.All(a => a.IsLoopback);
        var secureCookies = addresses.Any(a => a.IsHttps) || !loopbackOnly;
        var certificate = options.Certificate.IsConfigured ? AccessRules.LoadCertificate(options.Certificate) : null;
        var proxies = AccessRules.ParseProxies(options.TrustedProxies, "", null);
        var allowedHosts = AccessRules.Split(options.AllowedHosts).ToList();
        if (loopbackOnly)
            allowedHosts.AddRange(["localhost", "127.0.0.1", "[::1]"]);

        var throttle = new LoginThrottle(() => getOptions().Login, time, _logger);
        var sessions = new SessionStore(time);
        var access = new AccessServices(getOptions, control.Audit, throttle, sessions, loopbackOnly, secureCookies);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "AppRuntime.ControlPlane" });
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton<IHostLifetime, ApplicationOwnedLifetime>();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = RequestBody.DrainLimit(options.MaxRequestBodySize);
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxRequestLineSize = 8 * 1024;
            if (certificate is not null)
                k.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
        });
        AccessSetup.AddAccess(builder.Services, options, access, time);
        builder.Services.AddHostFiltering(h =>
        {
            h.AllowedHosts = allowedHosts;
            h.AllowEmptyHosts = false;
            h.IncludeFailureMessage = false;
        });
        if (proxies.Count > 0)
        {
            builder.Services.Configure<ForwardedHeadersOptions>(f =>
            {
                f.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
                f.KnownIPNetworks.Clear();
                f.KnownProxies.Clear();
                foreach (var proxy in proxies)
                    f.KnownIPNetworks.Add(proxy);
                f.ForwardLimit = 1;
            });
        }
        var app = builder.Build();
        foreach (var address in addresses)
            app.Urls.Add(address.Url);

        app.Use((context, next) => Guard(context, next));
        if (proxies.Count > 0)
            app.UseForwardedHeaders();
        // Probes answer any host (an orchestrator asks by pod address) and say nothing internal; everything else is host-checked.
        app.UseWhen(context => !IsProbe(context.Request.Path), branch => branch.UseHostFiltering());
        app.UseRouting();
        app.UseAuthentication();
        app.Use((context, next) => AccessMiddleware.InvokeAsync(context, next, access));
        app.UseAuthorization();
        app.UseRateLimiter();
        new ControlPlaneEndpoints(control, access, DashboardPage.Load(DashboardPage.DashboardResource), DashboardPage.Load(DashboardPage.LoginResource), time).Map(app);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _app = app;
        _throttle = throttle;
        Sessions = sessions;
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        _addresses = [.. bound.Select(a => new Uri(a))];
        var anonymous = options.EffectiveAnonymousRole == ControlRole.Viewer && loopbackOnly && proxies.Count == 0 ? "viewer from loopback" : "none";
        Log.Listening(_logger, string.Join(", ", _addresses), options.Users.Count, options.ApiKeys.Count, options.Jwt.IsEnabled, anonymous, options.ReadOnly);
        if (!string.IsNullOrEmpty(options.Token))
            Log.TokenDeprecated(_logger);
        if (options.RequireTokenForReads)
            Log.RequireTokenForReadsDeprecated(_logger);
        if (!loopbackOnly && proxies.Count == 0 && addresses.Any(a => !a.IsHttps))
            Log.NoTrustedProxies(_logger);
    }

    private static bool IsProbe(PathString path) => path.Equals("/health/live", StringComparison.Ordinal) || path.Equals("/health/ready", StringComparison.Ordinal);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is null)
            return;
        try
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
            Interlocked.Exchange(ref _throttle, null)?.Dispose();
            _addresses = [];
        }
    }

    public async ValueTask DisposeAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
            await app.DisposeAsync().ConfigureAwait(false);
    }

    public void Dispose()
    {
        var app = Interlocked.Exchange(ref _app, null);
        ((IDisposable?)app)?.Dispose();
    }

    /// <summary>
    /// Runs around every request: on a loopback-only server, requests must name a loopback host (this defeats DNS rebinding,
    /// where a web page reaches 127.0.0.1 under a foreign host name); every answer gets nosniff and no-store; an error status
    /// that nobody wrote a body for (no route 404, wrong method 405) gets a problem+json body.
    /// </summary>
    private static async Task Guard(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-store";
        await next(context).ConfigureAwait(false);
        var response = context.Response;
        if (!response.HasStarted && response.StatusCode >= 400 && response.ContentType is null && response.ContentLength is null or 0)
        {
            var detail = response.StatusCode switch
            {
                StatusCodes.Status404NotFound => "There is no endpoint at this path.",
                StatusCodes.Status405MethodNotAllowed => $"This endpoint does not accept {Http.Echo(context.Request.Method)}; allowed: {response.Headers.Allow}.",
                StatusCodes.Status400BadRequest => "This control plane does not answer to this host name: add it to AppRuntime:ControlPlane:AllowedHosts (loopback-only servers answer localhost, 127.0.0.1 and [::1]).",
                _ => ReasonPhrases(response.StatusCode),
            };
            await Http.WriteProblemAsync(context, response.StatusCode, detail).ConfigureAwait(false);
        }
    }

    private static string ReasonPhrases(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    /// <summary>The application's host owns start/stop signals; the embedded web application must not react to them itself.</summary>
    private sealed class ApplicationOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(70, LogLevel.Information, "AppRuntime control plane listening on {Addresses} (users: {Users}, API keys: {ApiKeys}, JWT: {Jwt}, anonymous: {Anonymous}, read-only: {ReadOnly})")]
        public static partial void Listening(ILogger logger, string addresses, int users, int apiKeys, bool jwt, string anonymous, bool readOnly);

        [LoggerMessage(72, LogLevel.Warning, "AppRuntime:ControlPlane:Token is deprecated: it works as an admin API key for now; make a hashed key with --new-api-key and configure it under AppRuntime:ControlPlane:ApiKeys instead")]
        public static partial void TokenDeprecated(ILogger logger);

        [LoggerMessage(73, LogLevel.Warning, "AppRuntime:ControlPlane:RequireTokenForReads is deprecated: set AppRuntime:ControlPlane:AnonymousRole to None instead")]
        public static partial void RequireTokenForReadsDeprecated(ILogger logger);

        [LoggerMessage(74, LogLevel.Warning, "The control plane serves plain http on a non-loopback address behind a proxy, but AppRuntime:ControlPlane:TrustedProxies is empty: rate limits, lockouts and the audit trail see the proxy's address instead of the client's")]
        public static partial void NoTrustedProxies(ILogger logger);

        [LoggerMessage(71, LogLevel.Information, "AppRuntime control plane is disabled (AppRuntime:ControlPlane:Enabled is false)")]
        public static partial void Disabled(ILogger logger);
    }
}
