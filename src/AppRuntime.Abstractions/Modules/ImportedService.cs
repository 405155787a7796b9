namespace AppRuntime;

/// <summary>
/// A service a module imports (<c>[ImportService(typeof(T))]</c>): the host registers it by hand. Generated code records one per
/// import; the runtime checks at start, before any queue, pool or source runs, that each is registered, and names the missing ones.
/// </summary>
/// <param name="ServiceType">The imported service type.</param>
/// <param name="Module">The module that imports it.</param>
public sealed record ImportedService(Type ServiceType, string Module);
