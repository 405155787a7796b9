using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AppRuntime.Configuration.PostgreSql;

/// <summary>Settings of <see cref="PostgreSqlConfigProvider"/>.</summary>
public sealed class PostgreSqlConfigOptions
{
    /// <summary>
    /// The settings table in the connection's search path (letters, digits and underscores, at most 40 characters). Its change
    /// counter is <c>&lt;TableName&gt;_version</c>, its trigger function <c>&lt;TableName&gt;_changed</c>. Default <c>appruntime_settings</c>.
    /// </summary>
    public string TableName { get; set; } = "appruntime_settings";

    /// <summary>
    /// How often the change counter is read. With <see cref="ListenForNotifications"/> this is only the safety net for a missed
    /// notification; <see cref="Timeout.InfiniteTimeSpan"/> turns polling off. A failed read is retried at the same interval. Default 30 seconds.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>LISTEN on the table's channel so a change reaches every instance at once. Default true.</summary>
    public bool ListenForNotifications { get; set; } = true;

    /// <summary>How long to wait before the LISTEN connection is opened again after it broke. Default 5 seconds.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Create the table, the change counter, the trigger function and the trigger when missing (idempotent). Default true.</summary>
    public bool CreateTableIfMissing { get; set; } = true;

    /// <summary>The clock that drives polling and reconnect delays (tests use a fake one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Where the provider logs (category <c>AppRuntime.Configuration.PostgreSql</c>). Configuration is loaded before the service
    /// container exists, so the logger factory is given here. Values are never logged. Default: no logging.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The NOTIFY channel: the table name.</summary>
    internal string Channel => TableName;
}
