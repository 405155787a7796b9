using System.Collections.Concurrent;
using AppRuntime;
using AppRuntime.Mail;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailOrderBot.Sources;

/// <summary>
/// Publishes the <c>.eml</c> files of a directory as <see cref="ImapMessage"/> tasks (the same type the IMAP sources produce).
/// Its "mark read" is a move: after success the file goes to <c>processed/</c>, after a dead letter to <c>failed/</c>. A file that
/// is not a MIME message at all goes straight to <c>failed/</c>. The idempotency key is <c>file:&lt;name&gt;</c>.
/// </summary>
public sealed partial class FolderSource : ITaskSource<ImapMessage>, ITaskOutcomeObserver<ImapMessage>
{
    private readonly string _directory;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, string> _inFlight = new(StringComparer.Ordinal);
    private long _scans;

    /// <summary>Creates the source.</summary>
    /// <param name="directory">The directory to read.</param>
    /// <param name="interval">Time between scans.</param>
    /// <param name="logger">The logger.</param>
    public FolderSource(string directory, TimeSpan interval, ILogger<FolderSource> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(logger);
        if (interval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "MailOrderBot:Folder:PollInterval must be positive.");
        _directory = Path.GetFullPath(directory);
        _interval = interval;
        _logger = logger;
    }

    /// <summary>The directory read.</summary>
    public string Directory => _directory;

    /// <summary>Completed scans of the directory.</summary>
    public long Scans => Interlocked.Read(ref _scans);

    /// <summary>Files published whose outcome is not known yet.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>True when a scan completed and no file is waiting or in flight: everything there was is processed.</summary>
    public bool IsDrained => Scans > 0 && _inFlight.IsEmpty && !PendingFiles().Any();

    /// <inheritdoc />
    public async Task RunAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        System.IO.Directory.CreateDirectory(_directory);
        try
        {
            await ScanLoopAsync(context, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task ScanLoopAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await context.WaitUntilReadyAsync(cancellationToken);
            try
            {
                var published = await ScanAsync(context, cancellationToken);
                Interlocked.Increment(ref _scans);
                context.ReportCaughtUp(); // every file that was there has been looked at once
                context.ReportHealthy("polling", new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["directory"] = _directory,
                    ["published"] = published.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["inFlight"] = _inFlight.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            }
            catch (IOException ex)
            {
                context.ReportError("polling", ex);
            }
            catch (UnauthorizedAccessException ex)
            {
                context.ReportError("polling", ex);
            }

            await Task.Delay(_interval, context.TimeProvider, cancellationToken);
        }
    }

    private IEnumerable<string> PendingFiles() =>
        System.IO.Directory.Exists(_directory)
            ? System.IO.Directory.EnumerateFiles(_directory, "*.eml", SearchOption.TopDirectoryOnly)
            : [];

    private async Task<int> ScanAsync(ITaskSourceContext<ImapMessage> context, CancellationToken cancellationToken)
    {
        var published = 0;
        foreach (var path in PendingFiles().Order(StringComparer.Ordinal))
        {
            var key = "file:" + Path.GetFileName(path);
            if (!_inFlight.TryAdd(key, path))
                continue;
            ImapMessage task;
            try
            {
                MimeMessage message;
                await using (var stream = File.OpenRead(path))
                    message = await MimeMessage.LoadAsync(stream, cancellationToken);
                task = ImapMessage.FromMime(message, _directory, key);
            }
            catch (Exception ex) when (ex is FormatException or ParseException)
            {
                LogUnreadable(_logger, ex, path);
                _inFlight.TryRemove(key, out _);
                Move(path, "failed");
                continue;
            }
            catch
            {
                _inFlight.TryRemove(key, out _);
                throw;
            }

            try
            {
                await context.PublishAsync(task, new TaskPublishOptions { Id = key }, cancellationToken);
                published++;
            }
            catch
            {
                _inFlight.TryRemove(key, out _);
                throw;
            }
        }

        return published;
    }

    /// <summary>Moves the file to <c>processed/</c>.</summary>
    public ValueTask OnSucceededAsync(TaskEnvelope<ImapMessage> envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Settle(envelope.Payload.IdempotencyKey, "processed");
        return ValueTask.CompletedTask;
    }

    /// <summary>Moves the file to <c>failed/</c>.</summary>
    public ValueTask OnDeadLetteredAsync(TaskEnvelope<ImapMessage> envelope, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        LogDeadLettered(_logger, envelope.Payload.IdempotencyKey, reason);
        Settle(envelope.Payload.IdempotencyKey, "failed");
        return ValueTask.CompletedTask;
    }

    private void Settle(string key, string folder)
    {
        if (!_inFlight.TryGetValue(key, out var path))
            path = Path.Combine(_directory, key.StartsWith("file:", StringComparison.Ordinal) ? key[5..] : key);
        try
        {
            if (File.Exists(path))
                Move(path, folder);
        }
        finally
        {
            _inFlight.TryRemove(key, out _);
        }
    }

    private void Move(string path, string folder)
    {
        var target = Path.Combine(_directory, folder);
        System.IO.Directory.CreateDirectory(target);
        File.Move(path, Path.Combine(target, Path.GetFileName(path)), overwrite: true);
    }

    [LoggerMessage(1, LogLevel.Warning, "{Path} is not a readable email; moved to failed/")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string path);

    [LoggerMessage(2, LogLevel.Warning, "Email {Key} failed for good ({Reason}); moved to failed/")]
    private static partial void LogDeadLettered(ILogger logger, string key, string reason);
}
