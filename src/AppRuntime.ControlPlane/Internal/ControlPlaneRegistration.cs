namespace AppRuntime.Internal;

/// <summary>Marks that the control plane is registered and collects the configure delegates of every AddControlPlane call.</summary>
internal sealed class ControlPlaneRegistration
{
    public List<Action<ControlPlaneOptions>> Configure { get; } = [];

    /// <summary>The clock of sessions, lockouts and API key expiry when it must differ from the application's (tests).</summary>
    public TimeProvider? Time { get; set; }
}
