using AppRuntime;
using AppRuntime.Mail;
using MailOrderBot.Services;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MailOrderBot.Handlers;

/// <summary>
/// Turns one order email into a stored order. Accepted and rejected orders both complete the task (the source then marks the
/// email read); a transient store failure (SQLite busy or locked, I/O; PostgreSQL unreachable, serialization failure) throws so the runtime retries later; a failure no retry
/// can fix throws <see cref="PermanentTaskException"/>, so the email is dead-lettered and flagged.
/// </summary>
[TaskHandler("orders")]
public sealed partial class OrderEmailHandler(OrderParser parser, IOrderStore store, OrderStats stats, ILogger<OrderEmailHandler> logger)
    : ITaskHandler<ImapMessage>
{
    /// <inheritdoc />
    public async ValueTask HandleAsync(ImapMessage task, TaskContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(context);
        var outcome = parser.Parse(task);
        bool stored;
        try
        {
            stored = await store.SaveAsync(outcome, cancellationToken);
        }
        catch (SqliteException ex) when (IsTransient(ex))
        {
            LogTransient(logger, ex, outcome.MessageId, context.Attempt, context.MaxAttempts);
            throw new RetryTaskException($"Order store unavailable for {outcome.MessageId}: {ex.Message}", ex);
        }
        catch (SqliteException ex)
        {
            throw new PermanentTaskException($"Order store rejected {outcome.MessageId}: {ex.Message}", ex);
        }
        catch (NpgsqlException ex) when (IsTransient(ex))
        {
            LogTransient(logger, ex, outcome.MessageId, context.Attempt, context.MaxAttempts);
            throw new RetryTaskException($"Order store unavailable for {outcome.MessageId}: {ex.Message}", ex);
        }
        catch (NpgsqlException ex)
        {
            throw new PermanentTaskException($"Order store rejected {outcome.MessageId}: {ex.Message}", ex);
        }

        stats.Record(outcome.Status, stored);
        if (!stored)
            LogDuplicate(logger, outcome.MessageId, task.IdempotencyKey);
        else if (outcome.Status == Domain.OrderStatus.Accepted)
            LogAccepted(logger, outcome.MessageId, outcome.Customer, outcome.Lines.Count, outcome.TotalCents / 100m);
        else
            LogRejected(logger, outcome.MessageId, outcome.Reason);
    }

    /// <summary>SQLite result codes a later attempt can get past: busy, locked, I/O error, disk full, cannot open.</summary>
    internal static bool IsTransient(SqliteException ex) => ex.SqliteErrorCode is 5 or 6 or 10 or 13 or 14;

    /// <summary>
    /// PostgreSQL failures a later attempt can get past: what Npgsql calls transient (connection refused or lost, timeouts,
    /// serialization failure 40001, deadlock 40P01, too many connections, server shutting down or starting, ...), any failure
    /// without a server verdict (no SQLSTATE: the connection itself failed), and login or database problems an operator fixes
    /// without touching the email (class 28 invalid authorization, 3D000 no such database, 3F000 no such schema in the search
    /// path). A server verdict on the data or the
    /// statement (a constraint, a bad value, a missing table) is permanent.
    /// </summary>
    internal static bool IsTransient(NpgsqlException ex) => ex.IsTransient || ex switch
    {
        PostgresException server => server.SqlState is "3D000" or "3F000" || server.SqlState.StartsWith("28", StringComparison.Ordinal),
        _ => true,
    };

    [LoggerMessage(1, LogLevel.Information, "Order {MessageId} accepted for {Customer}: {Lines} line(s), total {Total}")]
    private static partial void LogAccepted(ILogger logger, string messageId, string? customer, int lines, decimal total);

    [LoggerMessage(2, LogLevel.Information, "Order {MessageId} rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string messageId, string? reason);

    [LoggerMessage(3, LogLevel.Information, "Order {MessageId} was already stored; email {Key} is a redelivery")]
    private static partial void LogDuplicate(ILogger logger, string messageId, string key);

    [LoggerMessage(4, LogLevel.Warning, "Order store busy for {MessageId} (attempt {Attempt} of {MaxAttempts}); will retry")]
    private static partial void LogTransient(ILogger logger, Exception exception, string messageId, int attempt, int maxAttempts);
}
