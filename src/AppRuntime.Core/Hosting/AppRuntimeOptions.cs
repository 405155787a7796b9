namespace AppRuntime;

/// <summary>Platform settings of the runtime (configuration section <c>AppRuntime</c>).</summary>
public sealed class AppRuntimeOptions
{
    /// <summary>How long, on stop, the runtime waits for queues to drain (ready and in-flight tasks done) before it stops the workers. Key <c>AppRuntime:DrainTimeout</c>.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long workers may keep running the task in hand once they stop; after it, handlers are cancelled and their tasks go back to the queue. Key <c>AppRuntime:ShutdownTimeout</c>.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The backend of queues that neither pin one nor have <c>AppRuntime:Queues:&lt;name&gt;:Backend</c>. Key <c>AppRuntime:DefaultBackend</c>.</summary>
    public string DefaultBackend { get; set; } = "InMemory";

    /// <summary>How often a source waiting for its queue to fall below the high watermark checks again.</summary>
    public TimeSpan BackpressureCheckInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}
