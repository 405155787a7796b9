using Microsoft.Extensions.Hosting;

namespace PaymentNotifier.Services;

/// <summary>
/// Runs the store's migrations at start, right after the runtime checked the configuration: a database that cannot be reached or
/// migrated stops the start with its error, instead of failing the first task.
/// </summary>
public sealed class StoreMigration(PaymentStore store) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
