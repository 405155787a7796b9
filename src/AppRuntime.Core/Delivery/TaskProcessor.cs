using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Runs one delivery from lease to outcome (seed: the worker's processing step), top to bottom:
/// <list type="number">
/// <item>a consumer span, parented to the publish span found in the envelope;</item>
/// <item>the task's services (a DI scope, opened when the handler needs a non-singleton), the handler created from them and run with the task;</item>
/// <item>the settlement the <see cref="SettlementPolicy"/> decides, told to the queue (ack, retry, dead letter or release);</item>
/// <item>the outcome observers (a source marking its email read, say), once the queue recorded the outcome;</item>
/// <item>the settlement reported to the sources that published the task (for <see cref="RuntimeManager.WaitUntilDrainedAsync"/>),
/// and the outcome to the task telemetry (counters, duration, the recent-trace record).</item>
/// </list>
/// The worker pool around it owns consuming, pausing, scaling and lease renewal.
/// </summary>
internal sealed partial class TaskProcessor<T>
{
    private readonly ITaskQueue<T> _queue;
    private readonly Func<IServiceProvider, ITaskHandler<T>> _handlerFactory;
    private readonly ITaskOutcomeObserver<T>[] _observers;
    private readonly SettlementPolicy _policy;
    private readonly RuntimeServices _services;
    private readonly QueueSettlements _settlements;
    private readonly TaskServices<T> _taskServices;
    private readonly ILogger _logger;

    public TaskProcessor(ITaskQueue<T> queue, Func<IServiceProvider, ITaskHandler<T>> handlerFactory, ITaskOutcomeObserver<T>[] observers,
        SettlementPolicy policy, RuntimeServices services)
    {
        _queue = queue;
        Queue = queue.Name;
        _handlerFactory = handlerFactory;
        _observers = observers;
        _policy = policy;
        _services = services;
        _settlements = services.Settlements.For(queue.Name);
        _taskServices = services.CreateTaskServices(queue);
        _logger = services.Loggers.CreateLogger("AppRuntime.Delivery");
    }

    /// <summary>The queue's name, read once (every task uses it several times).</summary>
    private string Queue { get; }

    /// <summary>
    /// Runs the handler of <paramref name="lease"/> and decides the settlement; <see cref="SettleAsync(TaskLease{T}, HandledTask, CancellationToken)"/>
    /// then tells the queue (the caller must call it: it also ends the consumer span). Split so that a worker can take its next
    /// task while a settlement is in flight.
    /// </summary>
    /// <param name="lease">The delivery.</param>
    /// <param name="handlerDone">Called once the handler has returned or thrown (the lease needs no more renewal).</param>
    /// <param name="stopping">Cancelled when the runtime stops handlers; the task is then released back to its queue.</param>
    public async ValueTask<HandledTask> HandleAsync(TaskLease<T> lease, Action handlerDone, CancellationToken stopping)
    {
        var envelope = lease.Envelope;
        var started = _services.Time.GetTimestamp();
        // The consumer span stays open until the settlement is recorded (SettleAsync ends it).
        var activity = _services.Trace.StartProcess(envelope, Queue);

        Exception? failure = null;
        try
        {
            // The context is the task's service provider: a DI scope is opened only if the handler (or its factory) resolves a
            // non-singleton.
            var context = _taskServices.For(envelope);
            try
            {
                var handler = _handlerFactory(context);
                await handler.HandleAsync(envelope.Payload, context, stopping).ConfigureAwait(false);
            }
            finally
            {
                await TaskServices<T>.DisposeAsync(context).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Any handler failure is turned into a settlement; nothing escapes to crash the worker.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }
        try
        {
            handlerDone();
            var settlement = failure is null ? Settlement.Ack : _policy.OnFailure(failure, envelope.Attempt, stopping.IsCancellationRequested);
            if (failure is not null && settlement.Kind != SettlementKind.Release)
            {
                activity?.SetStatus(ActivityStatusCode.Error, failure.Message);
                activity?.AddException(failure);
                _services.Trace.Tasks.Failed(Queue);
            }
            return new HandledTask(started, activity, settlement, failure);
        }
        catch
        {
            activity?.Dispose(); // no settlement will end the span
            throw;
        }
    }

    /// <summary>
    /// Tells the queue the settlement <see cref="HandleAsync"/> decided, then the observers, the sources and the telemetry.
    /// </summary>
    /// <returns>The outcome, and what the handler threw (null when it succeeded, or when the task was released).</returns>
    public async ValueTask<(TaskOutcome Outcome, Exception? Failure)> SettleAsync(TaskLease<T> lease, HandledTask handled, CancellationToken stopping)
    {
        var activity = handled.Activity;
        if (activity is not null)
            Activity.Current = activity; // the settlement's logs and the observers' spans belong to the task's span (restored on return)
        try
        {
            var settlement = handled.Settlement;
            var outcome = await SettleAsync(lease, settlement, handled.Failure, stopping).ConfigureAwait(false);
            var elapsed = _services.Time.GetElapsedTime(handled.Started);
            _services.Trace.Tasks.Completed(Queue, lease.Envelope, activity, outcome, elapsed, _services.Time.GetUtcNow(), settlement.Reason);
            return (outcome, settlement.Kind == SettlementKind.Release ? null : handled.Failure);
        }
        finally
        {
            activity?.Dispose();
        }
    }

    private async ValueTask<TaskOutcome> SettleAsync(TaskLease<T> lease, Settlement settlement, Exception? failure, CancellationToken stopping)
    {
        var envelope = lease.Envelope;
        switch (settlement.Kind)
        {
            case SettlementKind.Ack:
                if (!await _queue.AckAsync(lease, CancellationToken.None).ConfigureAwait(false))
                    return LeaseLost(envelope);
                _services.Trace.Tasks.Succeeded(Queue);
                foreach (var observer in _observers)
                    await ObserveAsync(observer, envelope, null, stopping).ConfigureAwait(false);
                _settlements.Settled(envelope.Id);
                return TaskOutcome.Succeeded;

            case SettlementKind.Release:
                await _queue.ReleaseAsync(lease, CancellationToken.None).ConfigureAwait(false);
                Log.TaskReleased(_logger, Queue, envelope.Id);
                return TaskOutcome.Released;

            case SettlementKind.DeadLetter:
                if (!await _queue.DeadLetterAsync(lease, settlement.Reason!, CancellationToken.None).ConfigureAwait(false))
                    return LeaseLost(envelope);
                return await DeadLetteredAsync(envelope, settlement.Reason!, failure!, stopping).ConfigureAwait(false);

            default:
                var result = await _queue.NackAsync(lease, settlement.Delay, settlement.Reason!, CancellationToken.None).ConfigureAwait(false);
                switch (result)
                {
                    case NackResult.DeadLettered:
                        return await DeadLetteredAsync(envelope, settlement.Reason!, failure!, stopping).ConfigureAwait(false);
                    case NackResult.Requeued:
                        Log.TaskRetried(_logger, failure!, Queue, envelope.Id, envelope.Attempt, _queue.Definition.MaxAttempts, settlement.Delay);
                        return TaskOutcome.Retried;
                    default:
                        return LeaseLost(envelope);
                }
        }
    }

    private async ValueTask<TaskOutcome> DeadLetteredAsync(TaskEnvelope<T> envelope, string reason, Exception failure, CancellationToken stopping)
    {
        Log.TaskDeadLettered(_logger, failure, Queue, envelope.Id, envelope.Attempt, reason);
        _services.Trace.Tasks.DeadLettered(Queue);
        foreach (var observer in _observers)
            await ObserveAsync(observer, envelope, reason, stopping).ConfigureAwait(false);
        _settlements.Settled(envelope.Id);
        return TaskOutcome.DeadLettered;
    }

    private TaskOutcome LeaseLost(TaskEnvelope<T> envelope)
    {
        Log.LeaseLost(_logger, Queue, envelope.Id);
        return TaskOutcome.LeaseLost;
    }

    /// <summary>Tells one observer the outcome (<paramref name="deadLetterReason"/> null: succeeded). The task is already settled, so a failure is logged only.</summary>
    private async ValueTask ObserveAsync(ITaskOutcomeObserver<T> observer, TaskEnvelope<T> envelope, string? deadLetterReason, CancellationToken stopping)
    {
        try
        {
            if (deadLetterReason is null)
                await observer.OnSucceededAsync(envelope, stopping).ConfigureAwait(false);
            else
                await observer.OnDeadLetteredAsync(envelope, deadLetterReason, stopping).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The outcome is recorded already; an observer failure is logged, not propagated.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.ObserverFailed(_logger, ex, Queue, envelope.Id);
        }
    }

    /// <summary>A handled delivery waiting for its settlement: when it started, its span, the settlement and the handler's failure.</summary>
    public readonly record struct HandledTask(long Started, Activity? Activity, Settlement Settlement, Exception? Failure);

    private static partial class Log
    {
        [LoggerMessage(6, LogLevel.Warning, "Task {TaskId} on queue '{Queue}' failed on attempt {Attempt}/{MaxAttempts}; retrying in {Delay}")]
        public static partial void TaskRetried(ILogger logger, Exception exception, string queue, string taskId, int attempt, int maxAttempts, TimeSpan delay);

        [LoggerMessage(7, LogLevel.Error, "Task {TaskId} on queue '{Queue}' was dead-lettered after attempt {Attempt}: {Reason}")]
        public static partial void TaskDeadLettered(ILogger logger, Exception exception, string queue, string taskId, int attempt, string reason);

        [LoggerMessage(8, LogLevel.Information, "Task {TaskId} on queue '{Queue}' was released back to the queue on shutdown")]
        public static partial void TaskReleased(ILogger logger, string queue, string taskId);

        [LoggerMessage(9, LogLevel.Warning, "Lease of task {TaskId} on queue '{Queue}' was lost (it expired and the task may run again)")]
        public static partial void LeaseLost(ILogger logger, string queue, string taskId);

        [LoggerMessage(11, LogLevel.Error, "An outcome observer of queue '{Queue}' failed for task {TaskId}")]
        public static partial void ObserverFailed(ILogger logger, Exception exception, string queue, string taskId);
    }
}
