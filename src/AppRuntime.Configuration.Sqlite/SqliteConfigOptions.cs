using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AppRuntime.Configuration.Sqlite;

/// <summary>Settings of <see cref="SqliteConfigProvider"/>.</summary>
public sealed class SqliteConfigOptions
{
    /// <summary>
    /// The settings table (letters, digits and underscores, at most 40 characters). Its change counter is the table
    /// <c>&lt;TableName&gt;_version</c>. Default <c>appruntime_settings</c>.
    /// </summary>
    public string TableName { get; set; } = "appruntime_settings";

    /// <summary>
    /// How often the change counter is read; a change reloads the configuration. <see cref="Timeout.InfiniteTimeSpan"/> turns
    /// polling off (changes are then seen only on an explicit reload). A failed read is retried at the same interval. Default 5 seconds.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Create the table, the change counter and its triggers when they are missing (idempotent). Default true.</summary>
    public bool CreateTableIfMissing { get; set; } = true;

    /// <summary>The clock that drives polling (tests use a fake one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Where the provider logs (category <c>AppRuntime.Configuration.Sqlite</c>). Configuration is loaded before the service
    /// container exists, so the logger factory is given here. Values are never logged. Default: no logging.
    /// </summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
