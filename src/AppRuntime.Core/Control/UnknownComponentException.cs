namespace AppRuntime;

/// <summary>Thrown when an operation names a queue, pool or source that does not exist.</summary>
public sealed class UnknownComponentException : Exception
{
    /// <summary>Creates the exception for a <paramref name="kind"/> (queue, pool, source) named <paramref name="name"/>.</summary>
    public UnknownComponentException(string kind, string name)
        : base($"There is no {kind} named '{name}'.")
    {
        Kind = kind;
        Name = name;
    }

    /// <summary>Creates the exception.</summary>
    public UnknownComponentException() : this("component", "") { }

    /// <summary>Creates the exception.</summary>
    public UnknownComponentException(string message) : base(message)
    {
        Kind = "component";
        Name = "";
    }

    /// <summary>Creates the exception.</summary>
    public UnknownComponentException(string message, Exception innerException) : base(message, innerException)
    {
        Kind = "component";
        Name = "";
    }

    /// <summary>What kind of component was named.</summary>
    public string Kind { get; }

    /// <summary>The unknown name.</summary>
    public string Name { get; }
}
