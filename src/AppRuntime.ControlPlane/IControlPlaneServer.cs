namespace AppRuntime;

/// <summary>The running HTTP control plane, as registered in the application's services.</summary>
public interface IControlPlaneServer
{
    /// <summary>True between a successful start and stop.</summary>
    bool IsRunning { get; }

    /// <summary>The addresses the server listens on (with the real port when port 0 was configured); empty before start.</summary>
    IReadOnlyList<Uri> Addresses { get; }
}
