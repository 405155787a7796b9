using AppRuntime.Configuration.Sqlite;

namespace AppRuntime;

/// <summary>Adds the SQLite configuration loader to an AppRuntime.</summary>
public static class SqliteConfigurationExtensions
{
    /// <summary>
    /// Adds a <see cref="SqliteConfigProvider"/> at the <see cref="ConfigLayer.Database"/> layer (above the JSON files, below
    /// environment variables and the command line) and a readiness contributor <c>configuration-sqlite</c> that is Degraded while
    /// the database cannot be read. The table is read at once: a database that cannot be opened fails here with a
    /// <see cref="ConfigProviderException"/> that names the provider (password redacted).
    /// </summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="connectionString">A Microsoft.Data.Sqlite connection string, e.g. <c>Data Source=config.db</c>.</param>
    /// <param name="configure">Changes the defaults of <see cref="SqliteConfigOptions"/>.</param>
    public static IAppRuntimeBuilder AddSqliteConfiguration(this IAppRuntimeBuilder builder, string connectionString, Action<SqliteConfigOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new SqliteConfigOptions();
        configure?.Invoke(options);
        var provider = new SqliteConfigProvider(connectionString, options);
        builder.AddConfigProvider(provider);
        builder.AddHealthContributor(_ => provider.CreateHealthContributor());
        return builder;
    }
}
