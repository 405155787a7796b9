using Microsoft.AspNetCore.Builder;
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
    private volatile IReadOnlyList<Uri> _addresses = [];

    public bool IsRunning => _app is not null;

    public IReadOnlyList<Uri> Addresses => _addresses;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Read when starting: the settings are bound (and checked, with every other section) then, not when the host is built.
        var options = getOptions();
        if (!options.Enabled)
        {
            Log.Disabled(_logger);
            return;
        }
        // The rules (addresses, token) were checked with the rest of the configuration (ControlPlaneOptions.Validate).
        var addresses = ListenAddresses.Parse(options.Urls);
        var exposed = addresses.Where(a => !a.IsLoopback).Select(a => a.Url).ToList();
        var loopbackOnly = exposed.Count == 0;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "AppRuntime.ControlPlane" });
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton<IHostLifetime, ApplicationOwnedLifetime>();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = RequestBody.DrainLimit(options.MaxRequestBodySize);
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxRequestLineSize = 8 * 1024;
        });
        var app = builder.Build();
        foreach (var address in addresses)
            app.Urls.Add(address.Url);

        app.Use((context, next) => Guard(context, next, loopbackOnly));
        app.UseRouting();
        new ControlPlaneEndpoints(control, options, DashboardPage.Load(), time).Map(app);

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
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        _addresses = [.. bound.Select(a => new Uri(a))];
        Log.Listening(_logger, string.Join(", ", _addresses), !string.IsNullOrEmpty(options.Token), options.ReadOnly);
    }

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
    private static async Task Guard(HttpContext context, RequestDelegate next, bool loopbackOnly)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-store";
        if (loopbackOnly && !ListenAddresses.IsLoopbackHost(context.Request.Host.Host))
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest,
                "This control plane listens on loopback only and answers requests for localhost, 127.0.0.1 or [::1] only.").ConfigureAwait(false);
            return;
        }
        await next(context).ConfigureAwait(false);
        var response = context.Response;
        if (!response.HasStarted && response.StatusCode >= 400 && response.ContentType is null && response.ContentLength is null or 0)
        {
            var detail = response.StatusCode switch
            {
                StatusCodes.Status404NotFound => "There is no endpoint at this path.",
                StatusCodes.Status405MethodNotAllowed => $"This endpoint does not accept {Http.Echo(context.Request.Method)}; allowed: {response.Headers.Allow}.",
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
        [LoggerMessage(70, LogLevel.Information, "AppRuntime control plane listening on {Addresses} (admin token: {HasToken}, read-only: {ReadOnly})")]
        public static partial void Listening(ILogger logger, string addresses, bool hasToken, bool readOnly);

        [LoggerMessage(71, LogLevel.Information, "AppRuntime control plane is disabled (AppRuntime:ControlPlane:Enabled is false)")]
        public static partial void Disabled(ILogger logger);
    }
}
