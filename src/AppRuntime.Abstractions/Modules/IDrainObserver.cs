namespace AppRuntime;

/// <summary>
/// Told when a runtime in <c>RunMode.UntilDrained</c> (<c>--once</c>) has drained: every source looked at all its input once and
/// every task is settled. The runtime awaits every registered observer (for example one that prints a summary), then stops the
/// application. Register it as a service (<c>[Service(As = typeof(IDrainObserver))]</c>).
/// </summary>
public interface IDrainObserver
{
    /// <summary>Runs once, after the runtime drained and before the application stops.</summary>
    ValueTask OnDrainedAsync(CancellationToken cancellationToken);
}
