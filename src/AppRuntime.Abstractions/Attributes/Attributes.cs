using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime;

/// <summary>
/// Marks a <c>static partial class</c> as an application module. The AppRuntime generator emits an
/// <c>Add&lt;ClassName&gt;(this IAppRuntimeBuilder)</c> extension that registers everything the module declares.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ApplicationModuleAttribute(string name) : Attribute
{
    /// <summary>The module name, e.g. <c>mail-order-bot</c>.</summary>
    public string Name { get; } = name;
}

/// <summary>Declares a queue on a module class.</summary>
/// <typeparam name="T">The task type.</typeparam>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class TaskQueueAttribute<T>(string name) : Attribute
{
    /// <summary>The queue name.</summary>
    public string Name { get; } = name;

    /// <summary>Maximum tasks held (ready + delayed + in flight).</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>
    /// Lease duration in seconds before an unsettled task is redelivered (default 30). The worker pool renews the lease while a
    /// handler runs, so a handler may run longer; the timeout bounds how long a crashed instance's tasks stay away.
    /// <c>AppRuntime:Queues:&lt;name&gt;:VisibilityTimeout</c> overrides it.
    /// </summary>
    public int VisibilityTimeoutSeconds { get; set; } = 30;

    /// <summary>Pins the backend (<c>InMemory</c>, <c>Redis</c>); configuration decides when unset.</summary>
    public string? Backend { get; set; }
}

/// <summary>Declares the worker pool of a queue, on a module class.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class WorkerPoolAttribute(string queue) : Attribute
{
    /// <summary>The queue consumed.</summary>
    public string Queue { get; } = queue;

    /// <summary>Concurrent workers.</summary>
    public int Workers { get; set; } = 1;

    /// <summary>Deliveries after which a failing task is dead-lettered.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>First retry delay in milliseconds (doubles per attempt).</summary>
    public int RetryDelayMilliseconds { get; set; } = 1000;

    /// <summary>
    /// The configuration key that sets the pool's workers (e.g. <c>MailOrderBot:Workers</c>) instead of the platform key
    /// <c>AppRuntime:Pools:&lt;queue&gt;:Workers</c>; <see cref="Workers"/> is the default either way. The runtime validates
    /// it at start with every other configuration value.
    /// </summary>
    public string? WorkersConfigKey { get; set; }
}

/// <summary>Marks a class implementing <see cref="ITaskSource{T}"/> as the source of a queue.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class TaskSourceAttribute(string queue) : Attribute
{
    /// <summary>The queue it publishes to.</summary>
    public string Queue { get; } = queue;

    /// <summary>The source name; the class name in kebab case when unset.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// True: when several instances of the application share the queue's backend, one of them at a time runs the source (it holds a
    /// lease with a fencing token; the others stand by and take over when it stops or dies). Sources that implement
    /// <see cref="IExclusiveTaskSource"/> (the IMAP sources) are exclusive without it. <c>AppRuntime:Sources:&lt;name&gt;:Exclusive</c>
    /// overrides it.
    /// </summary>
    public bool Exclusive { get; set; }
}

/// <summary>Marks a class implementing <see cref="ITaskHandler{T}"/> as the handler of a queue.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class TaskHandlerAttribute(string queue) : Attribute
{
    /// <summary>The queue whose tasks it handles.</summary>
    public string Queue { get; } = queue;
}

/// <summary>Marks a class as a typed configuration section bound by generated code.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ConfigSectionAttribute(string path) : Attribute
{
    /// <summary>The section path, e.g. <c>MailOrderBot:Imap</c>.</summary>
    public string Path { get; } = path;
}

/// <summary>Marks a configuration member as secret: its value is never logged or shown.</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class SecretAttribute : Attribute;

/// <summary>
/// On a <see cref="TimeSpan"/> configuration member: the generated binder reports a value outside
/// [<paramref name="minimum"/>, <paramref name="maximum"/>] (both in <c>[d.]hh:mm:ss[.fffffff]</c>, e.g. <c>"00:00:01"</c>) as a
/// configuration error. The trimming-safe counterpart of DataAnnotations' <c>Range(typeof(TimeSpan), ...)</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class TimeRangeAttribute(string minimum, string maximum) : Attribute
{
    /// <summary>The smallest value allowed.</summary>
    public string Minimum { get; } = minimum;

    /// <summary>The largest value allowed.</summary>
    public string Maximum { get; } = maximum;
}

/// <summary>Registers a class as a service of its module.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ServiceAttribute(ServiceLifetime lifetime = ServiceLifetime.Singleton) : Attribute
{
    /// <summary>The lifetime. Scoped services live for one task.</summary>
    public ServiceLifetime Lifetime { get; } = lifetime;

    /// <summary>The service type it is registered as (an interface it implements); the class itself when unset.</summary>
    public Type? As { get; set; }
}

/// <summary>Registers a class implementing <see cref="IHealthContributor"/>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class HealthContributorAttribute : Attribute;

/// <summary>
/// On a module class: declares that a dependency is provided outside the module (registered by the host by hand),
/// so the generator accepts constructor parameters of that type.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ImportServiceAttribute(Type serviceType) : Attribute
{
    /// <summary>The imported service type.</summary>
    public Type ServiceType { get; } = serviceType;
}
