using AppRuntime.Configuration.Internal;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AppRuntime.Configuration.PostgreSql.Internal;

/// <summary>
/// Reads the PostgreSQL settings table. Besides the poll timer of the base class, a LISTEN loop (owned by this provider, never
/// faulting: every failure is logged and retried after <see cref="PostgreSqlConfigOptions.ReconnectDelay"/>) turns each NOTIFY
/// into an immediate check of the change counter; after every (re)connect it checks once, to catch changes made meanwhile.
/// </summary>
internal sealed partial class PostgreSqlConfigurationProvider(NpgsqlDataSource dataSource, PostgreSqlConfigOptions options, DatabaseConfigState state, ILogger logger)
    : DatabaseConfigurationProvider(state, options.PollInterval, options.CreateTableIfMissing, options.TimeProvider, logger)
{
    private readonly string _table = options.TableName;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _listening;

    protected override void EnsureSchema() => PostgreSqlSchema.Ensure(dataSource, _table, options.Channel);

    protected override long ReadVersion()
    {
        using var command = dataSource.CreateCommand($"""SELECT version FROM "{_table}_version" WHERE id = 1""");
        return command.ExecuteScalar() is long version ? version : 0;
    }

    protected override DatabaseSnapshot ReadSnapshot()
    {
        using var connection = dataSource.OpenConnection();
        using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);
        long version;
        using (var command = new NpgsqlCommand($"""SELECT version FROM "{_table}_version" WHERE id = 1""", connection, transaction))
            version = command.ExecuteScalar() is long v ? v : 0;
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        using (var command = new NpgsqlCommand($"""SELECT key, value FROM "{_table}" WHERE value IS NOT NULL""", connection, transaction))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
                values[reader.GetString(0)] = reader.GetString(1);
        }
        transaction.Commit();
        return new DatabaseSnapshot(version, values);
    }

    protected override void OnFirstLoad()
    {
        if (options.ListenForNotifications)
            _listening = Task.Run(() => ListenAsync(_stopping.Token));
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                    await using (connection.ConfigureAwait(false))
                    {
                        connection.Notification += (_, _) => RequestPoll();
                        var listen = new NpgsqlCommand($"""LISTEN "{options.Channel}" """, connection);
                        await using (listen.ConfigureAwait(false))
                            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        State.Listening = true;
                        Log.Listening(Logger, State.ProviderName, options.Channel);
                        // Whatever changed while nobody listened (first start, or the gap of a reconnect).
                        RequestPoll();
                        while (true)
                            await connection.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
#pragma warning disable CA1031 // The LISTEN loop must survive any failure: it logs, waits and reconnects; polling covers the gap.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    State.Listening = false;
                    if (cancellationToken.IsCancellationRequested)
                        return;
                    Log.ListenFailed(Logger, State.ProviderName, options.ReconnectDelay, ConfigRedaction.RedactValue(ex.Message));
                }
                try
                {
                    await Task.Delay(options.ReconnectDelay, Time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            State.Listening = false;
            await dataSource.DisposeAsync().ConfigureAwait(false);
            _stopping.Dispose();
        }
    }

    protected override void DisposeCore()
    {
        _stopping.Cancel();
        // The LISTEN loop disposes the data source and the token source when it ends; without a loop it is disposed here.
        if (_listening is null)
        {
            dataSource.Dispose();
            _stopping.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(720, LogLevel.Information, "Configuration provider {Provider} listens on channel {Channel}")]
        public static partial void Listening(ILogger logger, string provider, string channel);

        [LoggerMessage(721, LogLevel.Warning, "Configuration provider {Provider} lost its LISTEN connection; polling continues and it reconnects in {Delay}: {Reason}")]
        public static partial void ListenFailed(ILogger logger, string provider, TimeSpan delay, string reason);
    }
}
