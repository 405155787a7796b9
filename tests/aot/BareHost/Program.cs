// A bare generic host: the same Host.CreateApplicationBuilder as an AppRuntime application (configuration, console logging, the
// hosted-service lifetime), one hosted service that writes one message to a channel, reads it back, logs it and stops the host.
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSingleton(Channel.CreateBounded<string>(16));
builder.Services.AddHostedService<OneMessage>();
await builder.Build().RunAsync();

/// <summary>Handles one channel message, then stops the application.</summary>
internal sealed partial class OneMessage(Channel<string> channel, IHostApplicationLifetime lifetime, ILogger<OneMessage> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await channel.Writer.WriteAsync("one message", stoppingToken);
        var message = await channel.Reader.ReadAsync(stoppingToken);
        LogHandled(logger, message);
        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Handled {Message}")]
    private static partial void LogHandled(ILogger logger, string message);
}
