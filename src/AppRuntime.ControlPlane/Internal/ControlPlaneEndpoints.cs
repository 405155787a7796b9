using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AppRuntime.Internal;

/// <summary>
/// The HTTP endpoints, as hand-written <see cref="RequestDelegate"/>s that write JSON through the source-generated context
/// (no RequestDelegateFactory, no reflection). The rules are <see cref="ControlPlaneService"/>'s; this class parses requests,
/// checks the caller and maps each <see cref="ControlResult{T}"/> to a status in one place (<c>WriteAsync</c>): unknown names
/// 404, bad values 400, actions the runtime's state forbids 409, refused reloads 422, an unreachable backend 503.
/// </summary>
internal sealed class ControlPlaneEndpoints(ControlPlaneService control, ControlPlaneOptions options, DashboardPage dashboard, TimeProvider time)
{
    private readonly TokenCheck _token = new(options.Token);
    private readonly ControlPlaneJsonContext _json = ControlPlaneJsonContext.Default;

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", dashboard.WriteAsync);
        app.MapGet("/health/live", context => HealthAsync(context, HealthScope.Liveness));
        app.MapGet("/health/ready", context => HealthAsync(context, HealthScope.Readiness));
        app.MapGet("/health", context => HealthAsync(context, HealthScope.None));

        app.MapGet("/api/status", Read(StatusAsync));
        app.MapGet("/api/queues", Read(async context =>
        {
            var status = await control.ReadStatusAsync(context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, Map(status, s => s.Queues), _json.IReadOnlyListQueueStatus).ConfigureAwait(false);
        }));
        app.MapGet("/api/pools", Read(context => Http.WriteJsonAsync(context, control.GetPools(), _json.IReadOnlyListWorkerPoolSnapshot)));
        app.MapGet("/api/sources", Read(context => Http.WriteJsonAsync(context, control.GetSources(), _json.IReadOnlyListSourceSnapshot)));
        app.MapGet("/api/topology", Read(TopologyAsync));
        app.MapGet("/api/deadletters/{queue}", Read(DeadLettersAsync));
        app.MapGet("/api/traces/recent", Read(TracesAsync));

        app.MapPost("/api/sources/{name}/pause", AdminNoBody(context => SourceAsync(context, pause: true)));
        app.MapPost("/api/sources/{name}/resume", AdminNoBody(context => SourceAsync(context, pause: false)));
        app.MapPost("/api/pools/{name}/pause", AdminNoBody(context => PoolAsync(context, pause: true)));
        app.MapPost("/api/pools/{name}/resume", AdminNoBody(context => PoolAsync(context, pause: false)));
        app.MapPost("/api/pools/{name}/scale", Admin(ScaleAsync));
        app.MapPost("/api/deadletters/{queue}/retry", Admin(context => DeadLetterActionAsync(context, retry: true)));
        app.MapPost("/api/deadletters/{queue}/purge", Admin(context => DeadLetterActionAsync(context, retry: false)));
        app.MapPost("/api/config/reload", AdminNoBody(ReloadAsync));
        app.MapPost("/api/runtime/stop", AdminNoBody(StopAsync));
    }

    private RequestDelegate Read(RequestDelegate inner) => context =>
    {
        if (options.RequireTokenForReads && !_token.IsAuthorized(context))
            return UnauthorizedAsync(context);
        return inner(context);
    };

    private RequestDelegate Admin(RequestDelegate inner) => async context =>
    {
        if (await CheckAdminAsync(context).ConfigureAwait(false))
            await inner(context).ConfigureAwait(false);
    };

    /// <summary>An admin action that takes no parameters: its body must be absent or <c>{}</c>.</summary>
    private RequestDelegate AdminNoBody(Func<HttpContext, Task> inner) => async context =>
    {
        if (!await CheckAdminAsync(context).ConfigureAwait(false))
            return;
        var body = await RequestBody.ReadAsync(context, _json.EmptyRequest, options.MaxRequestBodySize, required: false).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        await inner(context).ConfigureAwait(false);
    };

    /// <summary>Writes the refusal and returns false unless the request may run an admin action.</summary>
    private async Task<bool> CheckAdminAsync(HttpContext context)
    {
        var refusal = Refuse(context);
        if (refusal is null)
            return true;
        await refusal.ConfigureAwait(false);
        return false;
    }

    private Task? Refuse(HttpContext context)
    {
        if (!_token.IsConfigured)
            return Http.WriteProblemAsync(context, StatusCodes.Status403Forbidden,
                $"Admin endpoints are disabled because no token is configured: set {ControlPlaneExtensions.SectionPath}:Token (at least {ControlPlaneOptions.MinimumTokenLength} characters).");
        if (!_token.IsAuthorized(context))
            return UnauthorizedAsync(context);
        if (options.ReadOnly)
            return Http.WriteProblemAsync(context, StatusCodes.Status403Forbidden, "The control plane is read-only: admin actions are disabled.");
        return null;
    }

    private static Task UnauthorizedAsync(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"AppRuntime\"";
        return Http.WriteProblemAsync(context, StatusCodes.Status401Unauthorized, "This endpoint needs the header 'Authorization: Bearer <token>' with the control plane's token.");
    }

    private async Task HealthAsync(HttpContext context, HealthScope scope)
    {
        var report = await control.Health.CheckAsync(scope, context.RequestAborted).ConfigureAwait(false);
        var status = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        await Http.WriteJsonAsync(context, report, _json.HealthReport, status).ConfigureAwait(false);
    }

    private async Task StatusAsync(HttpContext context)
    {
        var result = await control.ReadStatusAsync(context.RequestAborted).ConfigureAwait(false);
        var view = Map(result, status => new StatusView(status.State, status.StartedAt, status.FaultReason, time.GetUtcNow(), status.Queues, status.Pools,
            status.Sources, new ControlPlaneInfo(options.ReadOnly, _token.IsConfigured && !options.ReadOnly, options.RequireTokenForReads)));
        await WriteAsync(context, view, _json.StatusView).ConfigureAwait(false);
    }

    /// <summary>The same result with its value (when there is one) turned into the view an endpoint writes.</summary>
    private static ControlResult<TView> Map<T, TView>(ControlResult<T> result, Func<T, TView> view) =>
        new(result.Status, result.Value is { } value ? view(value) : default, result.Error, result.ConfigErrors) { Backend = result.Backend };

    private Task TopologyAsync(HttpContext context)
    {
        if (context.Request.Query.TryGetValue("format", out var format))
        {
            if (!string.Equals(format.ToString(), "mermaid", StringComparison.OrdinalIgnoreCase))
                return Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, $"Unknown format '{Http.Echo(format.ToString())}': use format=mermaid or no format for JSON.");
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync(control.TopologyMermaid, context.RequestAborted);
        }
        return Http.WriteJsonAsync(context, new TopologyView(control.Topology, control.TopologyMermaid), _json.TopologyView);
    }

    private async Task DeadLettersAsync(HttpContext context)
    {
        if (!Http.TryGetMax(context, 100, ControlPlaneService.MaxDeadLetterListing, out var max, out var error))
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }
        var result = await control.ListDeadLettersAsync(Http.RouteValue(context, "queue"), max, context.RequestAborted).ConfigureAwait(false);
        if (result.Value is { Skipped.Count: > 0 } listing)
        {
            // Entries whose stored record cannot be read are left out of the list (and logged with their id and problem).
            context.Response.Headers[SkippedDeadLettersHeader] = listing.Skipped.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        await WriteAsync(context, Map(result, l => l.Items), _json.IReadOnlyListDeadLetter).ConfigureAwait(false);
    }

    /// <summary>The header that counts the dead letters a listing left out because their records cannot be read.</summary>
    public const string SkippedDeadLettersHeader = "AppRuntime-Skipped-Dead-Letters";

    private Task TracesAsync(HttpContext context)
    {
        if (!Http.TryGetMax(context, 100, 1000, out var max, out var error))
            return Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, error!);
        var traces = control.GetRecentTraces(max)
            .Select(t => new TraceView(t.Queue, t.TaskId, t.TraceId, t.Attempt, t.Outcome.ToName(), t.Duration.TotalMilliseconds, t.CompletedAt, t.Error))
            .ToList();
        return Http.WriteJsonAsync<IReadOnlyList<TraceView>>(context, traces, _json.IReadOnlyListTraceView);
    }

    private Task SourceAsync(HttpContext context, bool pause)
    {
        var name = Http.RouteValue(context, "name");
        return WriteAsync(context, pause ? control.PauseSource(name) : control.ResumeSource(name), _json.SourceSnapshot);
    }

    private Task PoolAsync(HttpContext context, bool pause)
    {
        var name = Http.RouteValue(context, "name");
        return WriteAsync(context, pause ? control.PausePool(name) : control.ResumePool(name), _json.WorkerPoolSnapshot);
    }

    private async Task ScaleAsync(HttpContext context)
    {
        var body = await RequestBody.ReadAsync(context, _json.ScaleRequest, options.MaxRequestBodySize, required: true).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        if (body.Value!.Workers is not { } workers)
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest,
                $"'workers' must be a whole number from 1 to {PoolLimits.MaxWorkers} (was missing).").ConfigureAwait(false);
            return;
        }
        var result = await control.ScalePoolAsync(Http.RouteValue(context, "name"), workers, context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, result, _json.WorkerPoolSnapshot).ConfigureAwait(false);
    }

    private async Task DeadLetterActionAsync(HttpContext context, bool retry)
    {
        var queue = Http.RouteValue(context, "queue");
        var body = await RequestBody.ReadAsync(context, _json.IdsRequest, options.MaxRequestBodySize, required: false).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        IReadOnlyCollection<string>? ids = body.Value?.Ids is { } list ? [.. list.Select(id => id ?? "")] : null;
        var result = retry
            ? await control.RetryDeadLettersAsync(queue, ids, context.RequestAborted).ConfigureAwait(false)
            : await control.PurgeDeadLettersAsync(queue, ids, context.RequestAborted).ConfigureAwait(false);
        var view = result.Succeeded
            ? new ControlResult<DeadLetterActionResult>(result.Status, new DeadLetterActionResult(queue, retry ? "retry" : "purge", result.Value))
            : new ControlResult<DeadLetterActionResult>(result.Status, null, result.Error) { Backend = result.Backend };
        await WriteAsync(context, view, _json.DeadLetterActionResult).ConfigureAwait(false);
    }

    private Task ReloadAsync(HttpContext context)
    {
        var result = control.ReloadConfiguration();
        return WriteAsync(context, new ControlResult<ReloadResult>(result.Status, result.Value is { } r ? new ReloadResult(r.Applied, r.Errors) : null,
            result.Error, result.ConfigErrors), _json.ReloadResult);
    }

    private Task StopAsync(HttpContext context)
    {
        var result = control.RequestStop();
        return WriteAsync(context, new ControlResult<StopResult>(result.Status, result.Succeeded ? new StopResult(true, result.Value) : null, result.Error),
            _json.StopResult);
    }

    /// <summary>The one place where a <see cref="ControlStatus"/> becomes an HTTP status: the value as JSON, or an RFC 7807 problem.</summary>
    private static Task WriteAsync<T>(HttpContext context, ControlResult<T> result, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        switch (result.Status)
        {
            case ControlStatus.Ok:
                return Http.WriteJsonAsync(context, result.Value!, typeInfo);
            case ControlStatus.Accepted:
                return Http.WriteJsonAsync(context, result.Value!, typeInfo, StatusCodes.Status202Accepted);
            case ControlStatus.Unavailable:
                context.Response.Headers.RetryAfter = "5";
                return Http.WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable, result.Error ?? "A backend is unavailable.", backend: result.Backend);
            default:
                var status = result.Status switch
                {
                    ControlStatus.Invalid => StatusCodes.Status400BadRequest,
                    ControlStatus.NotFound => StatusCodes.Status404NotFound,
                    ControlStatus.Conflict => StatusCodes.Status409Conflict,
                    ControlStatus.Unprocessable => StatusCodes.Status422UnprocessableEntity,
                    _ => StatusCodes.Status500InternalServerError,
                };
                return Http.WriteProblemAsync(context, status, result.Error ?? result.Status.ToString(), result.ConfigErrors);
        }
    }
}
