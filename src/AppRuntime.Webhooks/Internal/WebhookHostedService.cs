using System.Collections.Frozen;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Runs the webhook listener's Kestrel server as a hosted service of the application's generic host. Like the control plane's,
/// the web application is a minimal one of its own (empty builder, Kestrel core, no routing: one request delegate looks the path
/// up): it shares the application's logger factory, not its configuration or lifetime, so <c>ASPNETCORE_*</c> settings and console
/// signals reach only the application's host.
/// </summary>
internal sealed partial class WebhookHostedService(WebhookRegistry registry, IServiceProvider services, ILoggerFactory loggers)
    : IHostedService, IWebhookServer, IAsyncDisposable, IDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger("AppRuntime.Webhooks");
    private WebApplication? _app;
    private X509Certificate2? _certificate;
    private volatile IReadOnlyList<Uri> _addresses = [];

    public bool IsRunning => _app is not null;

    public IReadOnlyList<Uri> Addresses => _addresses;

    public IReadOnlyDictionary<string, string> Paths =>
        registry.Endpoints.ToDictionary(e => e.Definition.Name, e => e.Definition.Path, StringComparer.Ordinal);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Read when starting: the settings are bound (and checked, with every other section) then, not when the host is built.
        var options = services.GetRequiredService<IConfigSection<WebhookOptions>>().Current;
        foreach (var endpoint in registry.Endpoints)
            endpoint.Initialize(services);
        if (!options.Enabled)
        {
            Log.Disabled(_logger);
            return;
        }
        var addresses = WebhookListenAddresses.Parse(options.Urls);
        var https = addresses.Any(a => a.IsHttps);
        if (https)
            _certificate = WebhookCertificates.Load(options.Certificate!);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "AppRuntime.Webhooks" });
        builder.Services.AddSingleton(loggers);
        builder.Services.AddSingleton<IHostLifetime, ApplicationOwnedLifetime>();
        builder.WebHost.UseKestrelCore();
        if (https)
            builder.WebHost.UseKestrelHttpsConfiguration();
        var largestBody = registry.Endpoints.Select(e => options.Sources.TryGetValue(e.Definition.Name, out var s) ? s.MaxBodySize ?? options.MaxBodySize : options.MaxBodySize)
            .DefaultIfEmpty(options.MaxBodySize).Max();
        var certificate = _certificate;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = largestBody;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxRequestLineSize = 8 * 1024;
            k.Limits.MaxConcurrentConnections = options.MaxConnections;
            if (certificate is not null)
                k.ConfigureHttpsDefaults(h => h.ServerCertificate = certificate);
        });
        var app = builder.Build();
        foreach (var address in addresses)
            app.Urls.Add(address.Url);

        if (options.KnownProxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in options.KnownProxies)
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            app.UseForwardedHeaders(forwarded);
        }
        var byPath = registry.Endpoints.ToFrozenDictionary(e => e.Definition.Path, e => e, StringComparer.OrdinalIgnoreCase);
        var metrics = services.GetRequiredService<WebhookMetrics>();
        app.Run(context => DispatchAsync(context, byPath, metrics));

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
        Log.Listening(_logger, string.Join(", ", _addresses), string.Join(", ", registry.Endpoints.Select(e => e.Definition.Path)));
    }

    /// <summary>Finds the endpoint of the path: 404 when there is none, 405 for anything but POST.</summary>
    private static Task DispatchAsync(HttpContext context, FrozenDictionary<string, IWebhookEndpoint> byPath, WebhookMetrics metrics)
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-store";
        var path = context.Request.Path.Value ?? "/";
        if (!byPath.TryGetValue(WebhookPaths.Normalize(path), out var endpoint))
        {
            metrics.Record(null, "not_found", StatusCodes.Status404NotFound, 0);
            return WebhookHttp.WriteProblemAsync(context, StatusCodes.Status404NotFound, "There is no webhook at this path.");
        }
        return HttpMethods.IsPost(context.Request.Method) ? endpoint.HandleAsync(context) : endpoint.RejectMethodAsync(context);
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
            Interlocked.Exchange(ref _certificate, null)?.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is not null)
            await app.DisposeAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _certificate, null)?.Dispose();
    }

    public void Dispose()
    {
        var app = Interlocked.Exchange(ref _app, null);
        ((IDisposable?)app)?.Dispose();
        Interlocked.Exchange(ref _certificate, null)?.Dispose();
    }

    /// <summary>The application's host owns start/stop signals; the embedded web application must not react to them itself.</summary>
    private sealed class ApplicationOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "AppRuntime webhooks listening on {Addresses} (paths: {Paths})")]
        public static partial void Listening(ILogger logger, string addresses, string paths);

        [LoggerMessage(101, LogLevel.Information, "AppRuntime webhooks are disabled (AppRuntime:Webhooks:Enabled is false)")]
        public static partial void Disabled(ILogger logger);
    }
}
