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
internal sealed class ControlPlaneEndpoints(ControlPlaneService control, AccessServices access, DashboardPage dashboard, DashboardPage login, TimeProvider time)
{
    /// <summary>The rate-limiter policy of the sign-in endpoint (per client address).</summary>
    public const string LoginPolicy = "login";

    /// <summary>The rate-limiter policy of whole-payload reads (a few at a time).</summary>
    public const string PayloadPolicy = "payload";

    private readonly ControlPlaneJsonContext _json = ControlPlaneJsonContext.Default;

    private ControlPlaneOptions Options => access.Settings();

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", DashboardAsync);
        app.MapGet("/login", login.WriteAsync);
        app.MapGet("/health/live", context => ProbeAsync(context, HealthScope.Liveness));
        app.MapGet("/health/ready", context => ProbeAsync(context, HealthScope.Readiness));
        app.MapGet("/health", context => HealthAsync(context, HealthScope.None)).RequireAuthorization(Policies.Viewer);

        app.MapGet("/api/status", StatusAsync).RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/queues", async context =>
        {
            var status = await control.ReadStatusAsync(context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, Map(status, s => s.Queues), _json.IReadOnlyListQueueStatus).ConfigureAwait(false);
        }).RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/pools", context => Http.WriteJsonAsync(context, control.GetPools(), _json.IReadOnlyListWorkerPoolSnapshot)).RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/sources", context => Http.WriteJsonAsync(context, control.GetSources(), _json.IReadOnlyListSourceSnapshot)).RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/topology", TopologyAsync).RequireAuthorization(Policies.Viewer);
        app.MapGet("/api/cluster", async context =>
            await WriteAsync(context, await control.GetClusterAsync(context.RequestAborted).ConfigureAwait(false), _json.ClusterView).ConfigureAwait(false))
            .RequireAuthorization(Policies.Viewer);

        app.MapGet("/api/deadletters/{queue}", DeadLettersAsync).RequireAuthorization(Policies.Operator);
        app.MapGet("/api/deadletters/{queue}/{**id}", DeadLetterAsync).RequireAuthorization(Policies.Operator)
            .WithMetadata(new AuditedAction(AuditActions.DeadLetterView)).RequireRateLimiting(PayloadPolicy);
        app.MapGet("/api/traces/recent", TracesAsync).RequireAuthorization(Policies.Operator);

        Action(app, "/api/sources/{name}/pause", ControlRole.Operator, AuditActions.SourcePause, NoBody(context => SourceAsync(context, pause: true)));
        Action(app, "/api/sources/{name}/resume", ControlRole.Operator, AuditActions.SourceResume, NoBody(context => SourceAsync(context, pause: false)));
        Action(app, "/api/pools/{name}/pause", ControlRole.Operator, AuditActions.PoolPause, NoBody(context => PoolAsync(context, pause: true)));
        Action(app, "/api/pools/{name}/resume", ControlRole.Operator, AuditActions.PoolResume, NoBody(context => PoolAsync(context, pause: false)));
        Action(app, "/api/pools/{name}/scale", ControlRole.Operator, AuditActions.PoolScale, ScaleAsync);
        Action(app, "/api/deadletters/{queue}/retry", ControlRole.Operator, AuditActions.DeadLettersRetry, context => DeadLetterActionAsync(context, retry: true));
        Action(app, "/api/deadletters/{queue}/purge", ControlRole.Operator, AuditActions.DeadLettersPurge, context => DeadLetterActionAsync(context, retry: false));
        Action(app, "/api/cluster/instances/{id}/release-leases", ControlRole.Operator, AuditActions.ClusterReleaseLeases, NoBody(ReleaseLeasesAsync));
        Action(app, "/api/config/reload", ControlRole.Admin, AuditActions.ConfigReload, NoBody(ReloadAsync));
        Action(app, "/api/runtime/stop", ControlRole.Admin, AuditActions.RuntimeStop, NoBody(StopAsync));

        new AccessEndpoints(control, access, _json).Map(app);
    }

    /// <summary>An action: the role's policy, the audit action recorded on refusal, and refused in read-only mode.</summary>
    private void Action(IEndpointRouteBuilder app, string pattern, ControlRole role, string auditAction, RequestDelegate inner) =>
        app.MapPost(pattern, context =>
        {
            if (Options.ReadOnly)
            {
                control.Audit.Record(Callers.Of(context), auditAction, ProblemAuthorizationResultHandler.Target(context), AuditResult.Denied, "the control plane is read-only");
                return Http.WriteProblemAsync(context, StatusCodes.Status403Forbidden, "The control plane is read-only: actions are disabled.");
            }
            return inner(context);
        }).RequireAuthorization(Policies.For(role)).WithMetadata(new AuditedAction(auditAction));

    /// <summary>An action that takes no parameters: its body must be absent or <c>{}</c>.</summary>
    private RequestDelegate NoBody(Func<HttpContext, Task> inner) => async context =>
    {
        var body = await RequestBody.ReadAsync(context, _json.EmptyRequest, Options.MaxRequestBodySize, required: false).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        await inner(context).ConfigureAwait(false);
    };

    /// <summary>The dashboard page; a caller who can be nobody here yet is sent to the sign-in page.</summary>
    private Task DashboardAsync(HttpContext context)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            context.Response.Redirect("/login");
            return Task.CompletedTask;
        }
        return dashboard.WriteAsync(context);
    }

    /// <summary>Liveness and readiness for orchestrators: 200 or 503 and the status alone, to anyone.</summary>
    private async Task ProbeAsync(HttpContext context, HealthScope scope)
    {
        var report = await control.Health.CheckAsync(scope, context.RequestAborted).ConfigureAwait(false);
        var status = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        await Http.WriteJsonAsync(context, new ProbeView(report.Status), _json.ProbeView, status).ConfigureAwait(false);
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
        var caller = Callers.Of(context);
        var options = Options;
        var view = Map(result, status => new StatusView(status.State, status.StartedAt, status.FaultReason, time.GetUtcNow(), status.Queues, status.Pools,
            status.Sources, new ControlPlaneInfo(options.ReadOnly, !options.ReadOnly && caller.Role >= ControlRole.Operator, !access.AnonymousAllowed(context),
                caller.Name, caller.Role, caller.Kind)));
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

    private async Task DeadLetterAsync(HttpContext context)
    {
        var result = await control.GetDeadLetterAsync(Http.RouteValue(context, "queue"), Http.RouteValue(context, "id"), Callers.Of(context), context.RequestAborted)
            .ConfigureAwait(false);
        await WriteAsync(context, result, _json.DeadLetter).ConfigureAwait(false);
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
        return WriteAsync(context, pause ? control.PauseSource(name, Callers.Of(context)) : control.ResumeSource(name, Callers.Of(context)), _json.SourceSnapshot);
    }

    private Task PoolAsync(HttpContext context, bool pause)
    {
        var name = Http.RouteValue(context, "name");
        return WriteAsync(context, pause ? control.PausePool(name, Callers.Of(context)) : control.ResumePool(name, Callers.Of(context)), _json.WorkerPoolSnapshot);
    }

    private async Task ScaleAsync(HttpContext context)
    {
        var body = await RequestBody.ReadAsync(context, _json.ScaleRequest, Options.MaxRequestBodySize, required: true).ConfigureAwait(false);
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
        var result = await control.ScalePoolAsync(Http.RouteValue(context, "name"), workers, Callers.Of(context), context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(context, result, _json.WorkerPoolSnapshot).ConfigureAwait(false);
    }

    private async Task DeadLetterActionAsync(HttpContext context, bool retry)
    {
        var queue = Http.RouteValue(context, "queue");
        var body = await RequestBody.ReadAsync(context, _json.IdsRequest, Options.MaxRequestBodySize, required: false).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        IReadOnlyCollection<string>? ids = body.Value?.Ids is { } list ? [.. list.Select(id => id ?? "")] : null;
        var result = retry
            ? await control.RetryDeadLettersAsync(queue, ids, Callers.Of(context), context.RequestAborted).ConfigureAwait(false)
            : await control.PurgeDeadLettersAsync(queue, ids, Callers.Of(context), context.RequestAborted).ConfigureAwait(false);
        var view = result.Succeeded
            ? new ControlResult<DeadLetterActionResult>(result.Status, new DeadLetterActionResult(queue, retry ? "retry" : "purge", result.Value))
            : new ControlResult<DeadLetterActionResult>(result.Status, null, result.Error) { Backend = result.Backend };
        await WriteAsync(context, view, _json.DeadLetterActionResult).ConfigureAwait(false);
    }

    private async Task ReleaseLeasesAsync(HttpContext context)
    {
        var id = Http.RouteValue(context, "id");
        var result = await control.ReleaseInstanceLeasesAsync(id, Callers.Of(context), context.RequestAborted).ConfigureAwait(false);
        var view = result.Succeeded
            ? new ControlResult<ReleaseLeasesResult>(result.Status, new ReleaseLeasesResult(id, result.Value))
            : new ControlResult<ReleaseLeasesResult>(result.Status, null, result.Error) { Backend = result.Backend };
        await WriteAsync(context, view, _json.ReleaseLeasesResult).ConfigureAwait(false);
    }

    private Task ReloadAsync(HttpContext context)
    {
        var result = control.ReloadConfiguration(Callers.Of(context));
        return WriteAsync(context, new ControlResult<ReloadResult>(result.Status, result.Value is { } r ? new ReloadResult(r.Applied, r.Errors) : null,
            result.Error, result.ConfigErrors), _json.ReloadResult);
    }

    private Task StopAsync(HttpContext context)
    {
        var result = control.RequestStop(Callers.Of(context));
        return WriteAsync(context, new ControlResult<StopResult>(result.Status, result.Succeeded ? new StopResult(true, result.Value) : null, result.Error),
            _json.StopResult);
    }

    /// <summary>The one place where a <see cref="ControlStatus"/> becomes an HTTP status: the value as JSON, or an RFC 7807 problem.</summary>
    internal static Task WriteAsync<T>(HttpContext context, ControlResult<T> result, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
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
