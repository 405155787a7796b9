namespace AppRuntime.Testing;

/// <summary>A <see cref="TaskContext"/> for calling a handler directly in a unit test.</summary>
public static class TestTaskContext
{
    /// <summary>Creates a context for delivery <paramref name="attempt"/> of task <paramref name="taskId"/> from <paramref name="queue"/>.</summary>
    /// <param name="queue">The queue name.</param>
    /// <param name="taskId">The task id.</param>
    /// <param name="attempt">The delivery, from 1.</param>
    /// <param name="maxAttempts">The attempt at which a failure dead-letters the task.</param>
    /// <param name="enqueuedAt">When the task was published; now when null.</param>
    /// <param name="headers">The task's headers.</param>
    /// <param name="services">The task's DI scope; an empty provider when null.</param>
    public static TaskContext Create(string queue = "test", string taskId = "task-1", int attempt = 1, int maxAttempts = 5,
        DateTimeOffset? enqueuedAt = null, IReadOnlyDictionary<string, string>? headers = null, IServiceProvider? services = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        return new TaskContext(queue, taskId, attempt, maxAttempts, enqueuedAt ?? DateTimeOffset.UtcNow, headers ?? TaskHeaders.Empty,
            services ?? EmptyServices.Instance);
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
