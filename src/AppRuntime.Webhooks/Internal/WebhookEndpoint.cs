using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>The type-independent view of a webhook source's endpoint, as the listener sees it.</summary>
internal interface IWebhookEndpoint
{
    WebhookSourceDefinition Definition { get; }

    /// <summary>True while its source runs (between its start and its stop): requests are accepted only then, else answered 503.</summary>
    bool IsAttached { get; }

    /// <summary>Resolves what the endpoint needs from the application's services (once).</summary>
    void Initialize(IServiceProvider services);

    /// <summary>Answers a POST to the endpoint's path.</summary>
    Task HandleAsync(HttpContext context);

    /// <summary>Answers a request with another method: 405.</summary>
    Task RejectMethodAsync(HttpContext context);
}

/// <summary>
/// One webhook source's request handling. A request is checked in this order, each failure answered at once and counted: allowed
/// network (403), source running and not paused (503), declared length (413, body unread), body read up to the limit (413),
/// signature over the raw body (401), content type (415), event id and body (400), mapping (422, or 200 when ignored), publish with
/// the event id as the deduplicated task id (202, 200 for a duplicate, 503 when the queue does not accept it in time). The 202 is
/// written only after the queue's publish returned.
/// </summary>
internal sealed partial class WebhookEndpoint<TRequest, TTask> : IWebhookEndpoint
{
    private const int InitialBuffer = 16 * 1024;

    private readonly TaskSerializer<TRequest> _serializer;
    private readonly Func<IServiceProvider, IWebhookSource<TRequest, TTask>> _factory;
    private readonly SignatureScheme _scheme;
    private readonly EventIds _eventIds;
    private readonly string _spanName;
    private readonly long[] _counts = new long[WebhookOutcomes.Count];
    private readonly ConcurrentDictionary<string, Task<bool>> _pending = new(StringComparer.Ordinal);
    private readonly Lock _initLock = new();
    private long _received;
    private long _completed;
    private int _active;
    private Dependencies? _dependencies;
    private IWebhookSource<TRequest, TTask>? _mapper;
    private volatile ITaskSourceContext<TTask>? _context;
    private volatile EndpointSettings? _settings;
    private volatile bool _backendFailing;

    public WebhookEndpoint(WebhookSourceDefinition definition, TaskSerializer<TRequest> serializer, Func<IServiceProvider, IWebhookSource<TRequest, TTask>> factory)
    {
        Definition = definition;
        _serializer = serializer;
        _factory = factory;
        _scheme = SignatureScheme.For(definition);
        _eventIds = new EventIds(definition);
        _spanName = "POST " + definition.Path;
    }

    public WebhookSourceDefinition Definition { get; }

    public SignatureScheme Scheme => _scheme;

    /// <summary>Changes whenever a request was answered: the source reports its details again when it moved.</summary>
    public long Version => Interlocked.Read(ref _completed);

    /// <summary>True while the source runs (requests are taken).</summary>
    public bool IsAttached => _context is not null;

    public void Initialize(IServiceProvider services)
    {
        lock (_initLock)
        {
            if (_dependencies is not null)
                return;
            _dependencies = new Dependencies(
                services.GetRequiredService<IConfigSection<WebhookOptions>>(),
                services.GetService<ITraceFactory>(),
                services.GetService<TimeProvider>() ?? TimeProvider.System,
                services.GetRequiredService<ILoggerFactory>().CreateLogger("AppRuntime.Webhooks"),
                services.GetRequiredService<WebhookMetrics>());
        }
    }

    /// <summary>The source started: requests are taken from now on.</summary>
    public void Attach(ITaskSourceContext<TTask> context, IServiceProvider services)
    {
        Initialize(services);
        _mapper ??= _factory(services);
        _context = context;
    }

    /// <summary>The source stops: new requests get 503; requests under way may finish (up to the publish timeout and a second).</summary>
    public async Task DetachAsync(ITaskSourceContext<TTask> context)
    {
        if (!ReferenceEquals(_context, context))
            return;
        _context = null;
        var wait = (_settings?.PublishTimeout ?? TimeSpan.FromSeconds(5)) + TimeSpan.FromSeconds(1);
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _active) > 0 && deadline.Elapsed < wait)
            await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The counts shown in the source's details (<c>/api/sources</c>, the dashboard).</summary>
    public Dictionary<string, string> Details()
    {
        var details = new Dictionary<string, string>(WebhookOutcomes.Count + 3, StringComparer.Ordinal)
        {
            ["path"] = Definition.Path,
            ["signature"] = Definition.Signature.ToString(),
            ["received"] = Interlocked.Read(ref _received).ToString(CultureInfo.InvariantCulture),
        };
        for (var i = 0; i < WebhookOutcomes.Count; i++)
            details[((WebhookOutcome)i).Name()] = Interlocked.Read(ref _counts[i]).ToString(CultureInfo.InvariantCulture);
        return details;
    }

    public Task RejectMethodAsync(HttpContext context)
    {
        var result = new Result(WebhookOutcome.RejectedMethod, null, $"This endpoint accepts POST only.");
        context.Response.Headers.Allow = "POST";
        Interlocked.Increment(ref _received);
        return FinishAsync(context, result, _settings, 0, null);
    }

    public async Task HandleAsync(HttpContext context)
    {
        var dependencies = _dependencies ?? throw new InvalidOperationException($"Webhook source '{Definition.Name}' is not initialized.");
        var started = dependencies.Metrics.TimesRequests ? Stopwatch.GetTimestamp() : 0;
        Interlocked.Increment(ref _received);
        var settings = CurrentSettings(dependencies);
        using var activity = StartServerSpan(context, settings, dependencies);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("http.request.method", "POST");
            activity.SetTag("http.route", Definition.Path);
            activity.SetTag("url.path", Definition.Path);
            activity.SetTag(TelemetryTagNames.Source, Definition.Name);
            if (context.Connection.RemoteIpAddress is { } client)
                activity.SetTag("client.address", client.ToString());
        }
        Result result;
        try
        {
            result = await ProcessAsync(context, settings, dependencies).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A bug in this pipeline is answered 500 with a problem body and logged, like Kestrel would, but counted.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                result = new Result(WebhookOutcome.Aborted, null, null);
            }
            else
            {
                Log.RequestFailed(dependencies.Logger, ex, Definition.Name);
                result = new Result(WebhookOutcome.Failed, null, "The webhook could not be processed.");
            }
        }
        await FinishAsync(context, result, settings, started, activity).ConfigureAwait(false);
    }

    /// <summary>
    /// The request's server span, the root of the task's trace. The endpoint faces the internet: a caller's <c>traceparent</c> is
    /// kept as a link, not as the parent (so a caller chooses neither trace ids nor sampling), unless
    /// <see cref="WebhookOptions.TrustTraceContext"/> says the callers are trusted.
    /// </summary>
    private Activity? StartServerSpan(HttpContext context, EndpointSettings settings, Dependencies dependencies)
    {
        Activity.Current = null; // whatever the web host started is not this trace's parent
        if (dependencies.Trace is not { } trace)
            return null;
        ActivityContext caller = default;
        var headers = context.Request.Headers;
        if (headers.TryGetValue("traceparent", out var traceParent) && traceParent.Count == 1)
        {
            headers.TryGetValue("tracestate", out var traceState);
            ActivityContext.TryParse(traceParent[0], traceState.Count == 1 ? traceState[0] : null, isRemote: true, out caller);
        }
        if (settings.TrustTraceContext)
            return trace.StartActivity(_spanName, ActivityKind.Server, caller);
        return caller == default
            ? trace.StartActivity(_spanName, ActivityKind.Server, default(ActivityContext))
            : trace.StartActivity(_spanName, ActivityKind.Server, default(ActivityContext), links: [new ActivityLink(caller)]);
    }

    private async Task<Result> ProcessAsync(HttpContext http, EndpointSettings settings, Dependencies dependencies)
    {
        var request = http.Request;
        if (settings.AllowedNetworks.Length > 0 && !IsAllowed(http.Connection.RemoteIpAddress, settings.AllowedNetworks))
            return new Result(WebhookOutcome.RejectedForbidden, null, "This client is not allowed to call this webhook.");

        Interlocked.Increment(ref _active);
        try
        {
            var source = _context;
            if (source is null)
                return new Result(WebhookOutcome.Unavailable, null, "The webhook source is not running: the runtime is starting or stopping.");
            if (source.IsPaused)
                return new Result(WebhookOutcome.Unavailable, null, "The webhook source is paused.");
            if (request.ContentLength > settings.MaxBodySize)
                return TooLarge(http, settings);

            var (buffer, length, failure) = await ReadBodyAsync(http, settings.MaxBodySize).ConfigureAwait(false);
            if (failure is { } failed)
                return failed == WebhookOutcome.RejectedTooLarge ? TooLarge(http, settings) : new Result(failed, null, failed == WebhookOutcome.Aborted ? null : "The request body could not be read.");
            try
            {
                return await ProcessBodyAsync(http, buffer!, length, settings, dependencies).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer!);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private async Task<Result> ProcessBodyAsync(HttpContext http, byte[] buffer, int length, EndpointSettings settings, Dependencies dependencies)
    {
        var request = http.Request;
        var now = dependencies.Time.GetUtcNow();
        switch (_scheme.Verify(request.Headers, buffer.AsSpan(0, length), settings.Keys, now, settings.Tolerance))
        {
            case SignatureCheck.Valid:
                break;
            case SignatureCheck.Stale:
                return new Result(WebhookOutcome.RejectedStale, null, Unauthenticated);
            default:
                return new Result(WebhookOutcome.RejectedSignature, null, Unauthenticated);
        }
        if (!WebhookHttp.IsJson(request.ContentType))
            return new Result(WebhookOutcome.RejectedMediaType, null, "The request body must be JSON: Content-Type application/json (or application/*+json).");

        string? eventId = null;
        string? problem;
        if (!_eventIds.FromBody)
        {
            eventId = _eventIds.FromHeaders(request.Headers, out problem);
            if (eventId is null)
                return new Result(WebhookOutcome.RejectedMalformed, null, problem);
        }
        TRequest value;
        try
        {
            value = _serializer.Deserialize(buffer.AsSpan(0, length));
        }
        catch (TaskDeserializationException ex)
        {
            return new Result(WebhookOutcome.RejectedMalformed, null, ex.Message);
        }
        if (eventId is null)
        {
            eventId = _eventIds.FromBodyBytes(buffer.AsSpan(0, length), out problem);
            if (eventId is null)
                return new Result(WebhookOutcome.RejectedMalformed, null, problem);
        }
        var taskId = string.Concat(Definition.Name, ":", eventId);

        var mapping = _mapper is IdentityMapping<TTask> && value is TTask same
            ? WebhookMapping<TTask>.Accept(same)
            : await MapAsync(http, value, new WebhookRequest(Definition.Name, eventId, taskId, now, buffer.AsMemory(0, length), request.Headers), dependencies)
                .ConfigureAwait(false);
        switch (mapping.Result)
        {
            case WebhookMappingResult.Accept:
                return await PublishAsync(http, mapping.Task!, taskId, settings, dependencies).ConfigureAwait(false);
            case WebhookMappingResult.Reject:
                return new Result(WebhookOutcome.RejectedMapping, taskId, mapping.Reason);
            case WebhookMappingResult.Ignore:
                return new Result(WebhookOutcome.Ignored, taskId, mapping.Reason);
            default:
                Log.MappingReturnedNothing(dependencies.Logger, Definition.Name);
                return new Result(WebhookOutcome.Failed, taskId, "The webhook could not be processed.");
        }
    }

    private async ValueTask<WebhookMapping<TTask>> MapAsync(HttpContext http, TRequest value, WebhookRequest webhook, Dependencies dependencies)
    {
        var mapper = _mapper ?? throw new InvalidOperationException($"Webhook source '{Definition.Name}' has not started.");
        try
        {
            return await mapper.MapAsync(value, webhook, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // The application's mapping method failed: 500 with a problem body, logged with the source name.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.MappingFailed(dependencies.Logger, ex, Definition.Name);
            return default; // answered as a failure
        }
    }

    /// <summary>
    /// Publishes with the event id as the deduplicated task id. Requests for the same id in this process wait for the one under way
    /// (a redelivery that overtakes a slow first delivery is answered 200 only once the first is in the queue); across processes the
    /// backend's atomic check decides.
    /// </summary>
    private async Task<Result> PublishAsync(HttpContext http, TTask task, string taskId, EndpointSettings settings, Dependencies dependencies)
    {
        var source = _context;
        if (source is null)
            return new Result(WebhookOutcome.Unavailable, taskId, "The webhook source is not running: the runtime is starting or stopping.");
        using var timeout = new CancellationTokenSource(settings.PublishTimeout, dependencies.Time);
        using var aborted = http.RequestAborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout);
        var mine = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_pending.TryAdd(taskId, mine.Task))
        {
            if (!_pending.TryGetValue(taskId, out var other))
                continue;
            bool inQueue;
            try
            {
                inQueue = await other.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                return TimedOut(http, taskId, settings);
            }
            if (inQueue)
                return new Result(WebhookOutcome.Duplicate, taskId, null);
        }

        var published = false;
        try
        {
            var result = await source.TryPublishAsync(task, new TaskPublishOptions { Id = taskId, DeduplicationWindow = settings.RetentionWindow }, timeout.Token)
                .ConfigureAwait(false);
            published = true;
            if (_backendFailing)
            {
                _backendFailing = false;
                Log.BackendRecovered(dependencies.Logger, Definition.Name);
            }
            return new Result(result.Published ? WebhookOutcome.Accepted : WebhookOutcome.Duplicate, taskId, null);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return TimedOut(http, taskId, settings);
        }
#pragma warning disable CA1031 // Whatever the backend throws, the task was not accepted: 503, so the provider retries.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            if (!_backendFailing)
            {
                _backendFailing = true;
                Log.BackendFailed(dependencies.Logger, ex, Definition.Name, Definition.Queue);
            }
            else
            {
                Log.BackendStillFailing(dependencies.Logger, Definition.Name, ex.GetType().Name);
            }
            return new Result(WebhookOutcome.Unavailable, taskId, "The queue's backend did not accept the task.");
        }
        finally
        {
            mine.SetResult(published);
            _pending.TryRemove(new KeyValuePair<string, Task<bool>>(taskId, mine.Task));
        }
    }

    private static Result TimedOut(HttpContext http, string taskId, EndpointSettings settings) =>
        http.RequestAborted.IsCancellationRequested
            ? new Result(WebhookOutcome.Aborted, taskId, null)
            : new Result(WebhookOutcome.Unavailable, taskId,
                $"The queue did not accept the task within {settings.PublishTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (it is full or its backend is slow).");

    private static Result TooLarge(HttpContext http, EndpointSettings settings)
    {
        // The rest of the body is not read: close the connection after the answer instead of draining it.
        http.Response.Headers.Connection = "close";
        return new Result(WebhookOutcome.RejectedTooLarge, null, $"The request body is larger than {settings.MaxBodySize.ToString(CultureInfo.InvariantCulture)} bytes.");
    }

    private const string Unauthenticated = "The request could not be authenticated.";

    /// <summary>Reads the body into a pooled buffer, at most <paramref name="limit"/> bytes; the failure, if any, instead.</summary>
    private static async ValueTask<(byte[]? Buffer, int Length, WebhookOutcome? Failure)> ReadBodyAsync(HttpContext http, long limit)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
            sizeFeature.MaxRequestBodySize = limit;
        var declared = http.Request.ContentLength;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, declared ?? Math.Min(limit + 1, InitialBuffer)));
        var read = 0;
        var body = http.Request.Body;
        try
        {
            while (true)
            {
                if (read == buffer.Length)
                {
                    if (read > limit)
                        return Fail(WebhookOutcome.RejectedTooLarge);
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit + 1, 2L * buffer.Length));
                    buffer.AsSpan(0, read).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var n = await body.ReadAsync(buffer.AsMemory(read), http.RequestAborted).ConfigureAwait(false);
                if (n == 0)
                    return (buffer, read, null);
                read += n;
                if (read > limit)
                    return Fail(WebhookOutcome.RejectedTooLarge);
            }
        }
        catch (BadHttpRequestException ex)
        {
            return Fail(ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? WebhookOutcome.RejectedTooLarge : WebhookOutcome.RejectedMalformed);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            return Fail(WebhookOutcome.Aborted);
        }

        (byte[]?, int, WebhookOutcome?) Fail(WebhookOutcome outcome)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, 0, outcome);
        }
    }

    /// <summary>Counts the outcome, tags the span, records the metrics and writes the answer.</summary>
    private Task FinishAsync(HttpContext http, Result result, EndpointSettings? settings, long started, Activity? activity)
    {
        var outcome = result.Outcome;
        var status = outcome.Status();
        Interlocked.Increment(ref _counts[(int)outcome]);
        Interlocked.Increment(ref _completed);
        var dependencies = _dependencies;
        dependencies?.Metrics.Record(Definition.Name, outcome.Name(), status, started);
        if (activity is not null)
        {
            activity.SetTag("http.response.status_code", status);
            activity.SetTag(WebhookMetrics.OutcomeTag, outcome.Name());
            if (result.TaskId is not null)
                activity.SetTag(TelemetryTagNames.MessageId, result.TaskId);
            if (status >= 500)
                activity.SetStatus(ActivityStatusCode.Error, outcome.Name());
        }
        if (dependencies is not null && outcome is not (WebhookOutcome.Accepted or WebhookOutcome.Duplicate or WebhookOutcome.Ignored))
            Log.Rejected(dependencies.Logger, Definition.Name, outcome.Name(), status, http.Connection.RemoteIpAddress?.ToString() ?? "?");

        switch (outcome)
        {
            case WebhookOutcome.Aborted:
                return Task.CompletedTask;
            case WebhookOutcome.Accepted:
                return WebhookHttp.WriteAnswerAsync(http, status, new WebhookAnswer("accepted", result.TaskId, null));
            case WebhookOutcome.Duplicate:
                return WebhookHttp.WriteAnswerAsync(http, status, new WebhookAnswer("duplicate", result.TaskId, null));
            case WebhookOutcome.Ignored:
                return WebhookHttp.WriteAnswerAsync(http, status, new WebhookAnswer("ignored", result.TaskId, result.Detail));
            case WebhookOutcome.Unavailable:
                http.Response.Headers.RetryAfter = settings?.RetryAfterSeconds ?? "5";
                return WebhookHttp.WriteProblemAsync(http, status, result.Detail);
            default:
                return WebhookHttp.WriteProblemAsync(http, status, result.Detail);
        }
    }

    private EndpointSettings CurrentSettings(Dependencies dependencies)
    {
        var options = dependencies.Options.Current;
        var settings = _settings;
        if (settings is not null && ReferenceEquals(settings.Options, options))
            return settings;
        settings = EndpointSettings.Create(options, Definition, _scheme);
        _settings = settings;
        return settings;
    }

    private static bool IsAllowed(IPAddress? address, IPNetwork[] networks)
    {
        if (address is null)
            return false;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        foreach (var network in networks)
        {
            if (network.Contains(address))
                return true;
        }
        return false;
    }

    private readonly record struct Result(WebhookOutcome Outcome, string? TaskId, string? Detail);

    private sealed record Dependencies(IConfigSection<WebhookOptions> Options, ITraceFactory? Trace, TimeProvider Time, ILogger Logger, WebhookMetrics Metrics);

    private static partial class Log
    {
        [LoggerMessage(110, LogLevel.Debug, "Webhook source '{Source}' answered {Status} ({Outcome}) to {Client}")]
        public static partial void Rejected(ILogger logger, string source, string outcome, int status, string client);

        [LoggerMessage(111, LogLevel.Error, "Webhook source '{Source}': the mapping method threw; answered 500")]
        public static partial void MappingFailed(ILogger logger, Exception exception, string source);

        [LoggerMessage(112, LogLevel.Error, "Webhook source '{Source}': the mapping method returned no decision (a default WebhookMapping); answered 500")]
        public static partial void MappingReturnedNothing(ILogger logger, string source);

        [LoggerMessage(113, LogLevel.Warning, "Webhook source '{Source}': queue '{Queue}' did not accept a task; answering 503 until it does")]
        public static partial void BackendFailed(ILogger logger, Exception exception, string source, string queue);

        [LoggerMessage(114, LogLevel.Debug, "Webhook source '{Source}': the queue still fails ({Error}); answered 503")]
        public static partial void BackendStillFailing(ILogger logger, string source, string error);

        [LoggerMessage(115, LogLevel.Information, "Webhook source '{Source}': the queue accepts tasks again")]
        public static partial void BackendRecovered(ILogger logger, string source);

        [LoggerMessage(116, LogLevel.Error, "Webhook source '{Source}': the request failed; answered 500")]
        public static partial void RequestFailed(ILogger logger, Exception exception, string source);
    }
}

/// <summary>The mapping of a source whose body is the task.</summary>
internal sealed class IdentityMapping<TTask> : IWebhookSource<TTask, TTask>
{
    public static readonly IdentityMapping<TTask> Instance = new();

    public ValueTask<WebhookMapping<TTask>> MapAsync(TTask request, WebhookRequest webhook, CancellationToken cancellationToken) =>
        new(WebhookMapping<TTask>.Accept(request));
}

/// <summary>One source's settings as the current configuration gives them: keys, limits, networks.</summary>
internal sealed class EndpointSettings
{
    public required WebhookOptions Options { get; init; }
    public required byte[][] Keys { get; init; }
    public required long MaxBodySize { get; init; }
    public required TimeSpan RetentionWindow { get; init; }
    public required TimeSpan Tolerance { get; init; }
    public required TimeSpan PublishTimeout { get; init; }
    public required string RetryAfterSeconds { get; init; }
    public required bool TrustTraceContext { get; init; }
    public required IPNetwork[] AllowedNetworks { get; init; }

    public static EndpointSettings Create(WebhookOptions options, WebhookSourceDefinition definition, SignatureScheme scheme)
    {
        options.Sources.TryGetValue(definition.Name, out var source);
        var keys = new List<byte[]>();
        foreach (var secret in source?.Secrets ?? [])
        {
            try
            {
                keys.Add(scheme.KeyOf(secret));
            }
            catch (FormatException)
            {
                // Refused by the start-up and reload checks; never reached with a validated configuration.
            }
        }
        var networks = new List<IPNetwork>();
        foreach (var text in source?.AllowedNetworks ?? [])
        {
            if (IPNetwork.TryParse(text, out var network))
                networks.Add(network);
        }
        return new EndpointSettings
        {
            Options = options,
            Keys = [.. keys],
            MaxBodySize = source?.MaxBodySize ?? options.MaxBodySize,
            RetentionWindow = source?.RetentionWindow ?? options.RetentionWindow,
            Tolerance = source?.Tolerance ?? options.Tolerance,
            PublishTimeout = options.PublishTimeout,
            RetryAfterSeconds = ((long)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
            TrustTraceContext = options.TrustTraceContext,
            AllowedNetworks = [.. networks],
        };
    }
}
