namespace AppRuntime;

/// <summary>
/// Thrown by a queue when its backend (a Redis server, say) cannot be reached or did not answer in time: the operation did not
/// happen, or its result is unknown, and trying again later may succeed. The control plane answers it with 503 and
/// <c>Retry-After</c>, naming the queue and the backend, instead of a server error.
/// </summary>
public sealed class QueueBackendUnavailableException : Exception
{
    /// <summary>Creates the exception for queue <paramref name="queue"/> on backend <paramref name="backend"/>.</summary>
    /// <param name="queue">The queue whose backend is unavailable.</param>
    /// <param name="backend">The backend name, e.g. <c>Redis</c>.</param>
    /// <param name="reason">What happened, e.g. <c>not connected to 127.0.0.1:6379</c>.</param>
    /// <param name="innerException">The backend's own error, when there is one.</param>
    public QueueBackendUnavailableException(string queue, string backend, string reason, Exception? innerException = null)
        : base($"Queue '{queue}': the {backend} backend is unavailable: {reason}", innerException)
    {
        Queue = queue;
        Backend = backend;
    }

    /// <summary>Creates the exception.</summary>
    public QueueBackendUnavailableException() : this("", "", "unavailable")
    {
    }

    /// <summary>Creates the exception.</summary>
    public QueueBackendUnavailableException(string message) : base(message)
    {
        Queue = "";
        Backend = "";
    }

    /// <summary>Creates the exception.</summary>
    public QueueBackendUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
        Queue = "";
        Backend = "";
    }

    /// <summary>The queue whose backend is unavailable.</summary>
    public string Queue { get; }

    /// <summary>The backend name, e.g. <c>Redis</c>.</summary>
    public string Backend { get; }
}
