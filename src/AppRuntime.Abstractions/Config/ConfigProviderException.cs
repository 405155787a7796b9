namespace AppRuntime;

/// <summary>
/// Thrown when a configuration provider cannot deliver its values at start (a database that cannot be reached, a table that
/// cannot be read). The message names the provider and its connection, with any password redacted.
/// </summary>
public sealed class ConfigProviderException : Exception
{
    /// <summary>Creates the exception for the provider <paramref name="providerName"/>.</summary>
    /// <param name="providerName">The provider's name, e.g. <c>sqlite:Data Source=app.db</c> (secrets already redacted).</param>
    /// <param name="reason">What went wrong.</param>
    /// <param name="innerException">The underlying failure.</param>
    public ConfigProviderException(string providerName, string reason, Exception? innerException = null)
        : base($"Configuration provider '{providerName}' failed: {reason}", innerException) => ProviderName = providerName;

    /// <summary>Creates the exception.</summary>
    public ConfigProviderException() : base("A configuration provider failed.") => ProviderName = "";

    /// <summary>Creates the exception.</summary>
    public ConfigProviderException(string message) : base(message) => ProviderName = "";

    /// <summary>Creates the exception.</summary>
    public ConfigProviderException(string message, Exception innerException) : base(message, innerException) => ProviderName = "";

    /// <summary>The provider's name (secrets redacted).</summary>
    public string ProviderName { get; }
}
