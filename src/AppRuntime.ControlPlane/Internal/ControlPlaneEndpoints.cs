using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AppRuntime.Internal;

/// <summary>
/// The HTTP endpoints, as hand-written <see cref="RequestDelegate"/>s that write JSON through the source-generated context
/// (no RequestDelegateFactory, no reflection). Every expected failure becomes an RFC 7807 problem with a 4xx status:
/// unknown names 404, bad bodies 400, actions the runtime's state forbids 409.
/// </summary>
internal sealed class ControlPlaneEndpoints(ControlPlaneService control, RuntimeManager runtime, ControlPlaneOptions options, DashboardPage dashboard, TimeProvider time)
{
    private const int MaxWorkers = 1024;
    private const int MaxIds = 10_000;
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
            var status = await control.GetStatusAsync(context.RequestAborted).ConfigureAwait(false);
            await Http.WriteJsonAsync(context, status.Queues, _json.IReadOnlyListQueueStatus).ConfigureAwait(false);
        }));
        app.MapGet("/api/pools", Read(context => Http.WriteJsonAsync(context, runtime.Supervisor.GetSnapshots(), _json.IReadOnlyListWorkerPoolSnapshot)));
        app.MapGet("/api/sources", Read(context => Http.WriteJsonAsync(context, runtime.GetSourceSnapshots(), _json.IReadOnlyListSourceSnapshot)));
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
        var status = await control.GetStatusAsync(context.RequestAborted).ConfigureAwait(false);
        var view = new StatusView(status.State, status.StartedAt, status.FaultReason, time.GetUtcNow(), status.Queues, status.Pools, status.Sources,
            new ControlPlaneInfo(options.ReadOnly, _token.IsConfigured && !options.ReadOnly, options.RequireTokenForReads));
        await Http.WriteJsonAsync(context, view, _json.StatusView).ConfigureAwait(false);
    }

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
        if (!Http.TryGetMax(context, 100, 1000, out var max, out var error))
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }
        var queue = Http.RouteValue(context, "queue");
        if (!NameValidation.IsValid(queue))
        {
            await UnknownAsync(context, "queue", queue).ConfigureAwait(false);
            return;
        }
        IReadOnlyList<DeadLetter> letters;
        try
        {
            letters = await control.GetDeadLettersAsync(queue, max, context.RequestAborted).ConfigureAwait(false);
        }
        catch (UnknownComponentException ex)
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, ex.Message).ConfigureAwait(false);
            return;
        }
        await Http.WriteJsonAsync(context, letters, _json.IReadOnlyListDeadLetter).ConfigureAwait(false);
    }

    private Task TracesAsync(HttpContext context)
    {
        if (!Http.TryGetMax(context, 100, 1000, out var max, out var error))
            return Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest, error!);
        var traces = control.GetRecentTraces(max)
            .Select(t => new TraceView(t.Queue, t.TaskId, t.TraceId, t.Attempt, t.Outcome, t.Duration.TotalMilliseconds, t.CompletedAt, t.Error))
            .ToList();
        return Http.WriteJsonAsync<IReadOnlyList<TraceView>>(context, traces, _json.IReadOnlyListTraceView);
    }

    private Task SourceAsync(HttpContext context, bool pause)
    {
        var name = Http.RouteValue(context, "name");
        if (!NameValidation.IsValid(name))
            return UnknownAsync(context, "source", name);
        if (NotRunning(context) is { } conflict)
            return conflict;
        try
        {
            if (pause)
                control.PauseSource(name);
            else
                control.ResumeSource(name);
        }
        catch (UnknownComponentException ex)
        {
            return Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return ConflictAsync(context, $"source '{name}'", ex);
        }
        var snapshot = runtime.GetSourceSnapshots().FirstOrDefault(s => s.Name == name);
        return snapshot is null
            ? UnknownAsync(context, "source", name)
            : Http.WriteJsonAsync(context, snapshot, _json.SourceSnapshot);
    }

    private Task PoolAsync(HttpContext context, bool pause)
    {
        var name = Http.RouteValue(context, "name");
        if (!NameValidation.IsValid(name))
            return UnknownAsync(context, "worker pool", name);
        if (NotRunning(context) is { } conflict)
            return conflict;
        WorkerPoolSnapshot snapshot;
        try
        {
            if (pause)
                control.PausePool(name);
            else
                control.ResumePool(name);
            snapshot = runtime.Supervisor.GetPool(name).GetSnapshot();
        }
        catch (UnknownComponentException ex)
        {
            return Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            return ConflictAsync(context, $"worker pool '{name}'", ex);
        }
        return Http.WriteJsonAsync(context, snapshot, _json.WorkerPoolSnapshot);
    }

    private async Task ScaleAsync(HttpContext context)
    {
        var name = Http.RouteValue(context, "name");
        if (!NameValidation.IsValid(name))
        {
            await UnknownAsync(context, "worker pool", name).ConfigureAwait(false);
            return;
        }
        var body = await RequestBody.ReadAsync(context, _json.ScaleRequest, options.MaxRequestBodySize, required: true).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        var requested = body.Value!.Workers;
        if (requested is not { } workers || workers < 1 || workers > MaxWorkers)
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest,
                $"'workers' must be a whole number from 1 to {MaxWorkers} (was {(requested is null ? "missing" : requested.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))}).").ConfigureAwait(false);
            return;
        }
        if (NotRunning(context) is { } conflict)
        {
            await conflict.ConfigureAwait(false);
            return;
        }
        WorkerPoolSnapshot snapshot;
        try
        {
            await control.ScalePoolAsync(name, workers, context.RequestAborted).ConfigureAwait(false);
            snapshot = runtime.Supervisor.GetPool(name).GetSnapshot();
        }
        catch (UnknownComponentException ex)
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (InvalidOperationException ex)
        {
            await ConflictAsync(context, $"worker pool '{name}'", ex).ConfigureAwait(false);
            return;
        }
        await Http.WriteJsonAsync(context, snapshot, _json.WorkerPoolSnapshot).ConfigureAwait(false);
    }

    private async Task DeadLetterActionAsync(HttpContext context, bool retry)
    {
        var queue = Http.RouteValue(context, "queue");
        if (!NameValidation.IsValid(queue))
        {
            await UnknownAsync(context, "queue", queue).ConfigureAwait(false);
            return;
        }
        var body = await RequestBody.ReadAsync(context, _json.IdsRequest, options.MaxRequestBodySize, required: false).ConfigureAwait(false);
        if (!body.IsOk)
        {
            await Http.WriteProblemAsync(context, body.Status, body.Error!).ConfigureAwait(false);
            return;
        }
        IReadOnlyCollection<string>? ids = null;
        if (body.Value?.Ids is { } list)
        {
            if (list.Count > MaxIds || list.Exists(id => string.IsNullOrEmpty(id) || id.Length > 512))
            {
                await Http.WriteProblemAsync(context, StatusCodes.Status400BadRequest,
                    $"'ids' must be a list of at most {MaxIds} non-empty task ids of at most 512 characters.").ConfigureAwait(false);
                return;
            }
            ids = [.. list.Select(id => id!)];
        }
        if (NotRunning(context) is { } conflict)
        {
            await conflict.ConfigureAwait(false);
            return;
        }
        int count;
        try
        {
            count = retry
                ? await control.RetryDeadLettersAsync(queue, ids, context.RequestAborted).ConfigureAwait(false)
                : await control.PurgeDeadLettersAsync(queue, ids, context.RequestAborted).ConfigureAwait(false);
        }
        catch (UnknownComponentException ex)
        {
            await Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (InvalidOperationException ex)
        {
            await ConflictAsync(context, $"queue '{queue}'", ex).ConfigureAwait(false);
            return;
        }
        await Http.WriteJsonAsync(context, new DeadLetterActionResult(queue, retry ? "retry" : "purge", count), _json.DeadLetterActionResult).ConfigureAwait(false);
    }

    private Task ReloadAsync(HttpContext context)
    {
        if (NotRunning(context) is { } conflict)
            return conflict;
        ConfigReloadResult result;
        try
        {
            result = control.ReloadConfiguration();
        }
        catch (ConfigValidationException ex)
        {
            return Http.WriteProblemAsync(context, StatusCodes.Status422UnprocessableEntity, "The configuration is invalid; nothing was changed.", ex.Errors);
        }
        return result.Applied
            ? Http.WriteJsonAsync(context, new ReloadResult(true, result.Errors), _json.ReloadResult)
            : Http.WriteProblemAsync(context, StatusCodes.Status422UnprocessableEntity,
                "The reloaded configuration is invalid and was refused; the previous configuration stays in effect.", result.Errors);
    }

    private Task StopAsync(HttpContext context)
    {
        var state = runtime.State;
        if (state is RuntimeState.Stopping or RuntimeState.Stopped)
            return Http.WriteJsonAsync(context, new StopResult(true, state), _json.StopResult, StatusCodes.Status202Accepted);
        try
        {
            control.RequestStop();
        }
        catch (InvalidOperationException ex)
        {
            return ConflictAsync(context, "the runtime", ex);
        }
        return Http.WriteJsonAsync(context, new StopResult(true, runtime.State), _json.StopResult, StatusCodes.Status202Accepted);
    }

    /// <summary>Pool, source, dead-letter and reload actions need a running runtime; before start and while stopping they answer 409.</summary>
    private Task? NotRunning(HttpContext context)
    {
        var state = runtime.State;
        return state == RuntimeState.Running
            ? null
            : Http.WriteProblemAsync(context, StatusCodes.Status409Conflict, $"The runtime is {state}; this action needs it Running.");
    }

    private static Task UnknownAsync(HttpContext context, string kind, string name) =>
        Http.WriteProblemAsync(context, StatusCodes.Status404NotFound, $"There is no {kind} named '{Http.Echo(name)}'.");

    private static Task ConflictAsync(HttpContext context, string what, InvalidOperationException ex) =>
        Http.WriteProblemAsync(context, StatusCodes.Status409Conflict, $"The action on {what} is not possible now: {ex.Message}");
}
