using AppRuntime.Configuration.PostgreSql;

namespace AppRuntime;

/// <summary>Adds the PostgreSQL configuration loader to an AppRuntime.</summary>
public static class PostgreSqlConfigurationExtensions
{
    /// <summary>
    /// Adds a <see cref="PostgreSqlConfigProvider"/> at the <see cref="ConfigLayer.Database"/> layer (above the JSON files, below
    /// environment variables and the command line) and a readiness contributor <c>configuration-postgresql</c> that is Degraded
    /// while the database cannot be read. The table is read at once: a server that cannot be reached fails here with a
    /// <see cref="ConfigProviderException"/> that names the provider and its connection (password redacted).
    /// </summary>
    /// <param name="builder">The runtime builder.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Changes the defaults of <see cref="PostgreSqlConfigOptions"/>.</param>
    public static IAppRuntimeBuilder AddPostgreSqlConfiguration(this IAppRuntimeBuilder builder, string connectionString, Action<PostgreSqlConfigOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new PostgreSqlConfigOptions();
        configure?.Invoke(options);
        var provider = new PostgreSqlConfigProvider(connectionString, options);
        builder.AddConfigProvider(provider);
        builder.AddHealthContributor(_ => provider.CreateHealthContributor());
        return builder;
    }
}
