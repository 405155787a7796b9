using System.Collections.Concurrent;
using System.Diagnostics;

namespace AppRuntime.Redis.Tests;

/// <summary>
/// <c>redis-cli MONITOR</c> on the test server: every command the server ran, as the server saw it, kept when it mentions
/// <c>filter</c> (a test's key prefix). <see cref="SyncAsync"/> sends a marker and waits until it comes back, so every command
/// sent before it has been seen.
/// </summary>
internal sealed class RedisMonitor : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _filter;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Task _reader;

    private RedisMonitor(Process process, string filter)
    {
        _process = process;
        _filter = filter;
        _reader = Task.Run(ReadAsync);
    }

    public static async Task<RedisMonitor> StartAsync(string filter)
    {
        var monitor = Start(filter, "MONITOR");
        await monitor.SyncAsync();
        return monitor;
    }

    /// <summary>
    /// <c>redis-cli --raw SUBSCRIBE channel</c>: every line it prints is kept (the filter is the channel name, which is not in the
    /// message lines, so all are kept). Returns once the subscription is confirmed.
    /// </summary>
    public static async Task<RedisMonitor> SubscribeAsync(string channel)
    {
        var subscriber = Start(string.Empty, "--raw", "SUBSCRIBE", channel);
        var deadline = Stopwatch.StartNew();
        while (!subscriber._lines.Contains(channel))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "redis-cli SUBSCRIBE did not confirm within 10 s");
            await Task.Delay(10);
        }
        return subscriber;
    }

    private static RedisMonitor Start(string filter, params string[] args) =>
        new(Process.Start(RedisCli.StartInfo(args)) ?? throw new InvalidOperationException("redis-cli did not start"), filter);

    /// <summary>The commands seen so far that mention the filter.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    /// <summary>Sends a marker through the server and waits until MONITOR shows it.</summary>
    public async Task SyncAsync()
    {
        var marker = _filter + ":monitor-sync:" + Guid.NewGuid().ToString("N");
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await RedisCli.RunAsync("ECHO", marker);
            for (var i = 0; i < 50; i++)
            {
                if (_lines.Any(l => l.Contains(marker, StringComparison.Ordinal)))
                    return;
                await Task.Delay(10);
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "redis-cli MONITOR did not show the marker within 10 s");
        }
    }

    private async Task ReadAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.Contains(_filter, StringComparison.Ordinal))
                _lines.Enqueue(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        await _reader.ConfigureAwait(false);
        _process.Dispose();
    }
}
