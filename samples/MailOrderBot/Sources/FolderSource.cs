using System.Collections.Concurrent;
using AppRuntime;
using AppRuntime.Mail;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace MailOrderBot.Sources;

/// <summary>
/// Publishes the <c>.eml</c> files of a directory as <see cref="ImapMessage"/> tasks (the same type the IMAP sources produce).
/// Its "mark read" is a move: after success the file goes to <c>processed/</c>, after a dead letter to <c>failed/</c>. A file that
/// is not a MIME message at all, is larger than the size limit or is not a regular file (a symbolic link) goes straight to
/// <c>failed/</c> without being read. The task id (and idempotency key) is <c>file:&lt;name&gt;</c>.
/// <para>
/// An outcome moves only a file this source listed itself: it looks the file up by the task id it issued, in its own table of
/// files in flight, and never builds a path from the task's id or payload (anyone who can write to a durable queue can put any id
/// and payload there). An outcome for an id it did not issue is logged and ignored.
/// </para>
/// </summary>
public sealed partial class FolderSource : ITaskSource<ImapMessage>, ITaskOutcomeObserver<ImapMessage>
{
    private readonly string _directory;
    private readonly TimeSpan _interval;
    private readonly long _maxMessageSize;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, string> _inFlight = new(StringComparer.Ordinal);
    private long _scans;
    private long _tooLarge;
    private long _unknownOutcomes;

    /// <summary>Creates the source with the default size limit (<see cref="ImapOptions.DefaultMaxMessageSize"/>, 25 MiB).</summary>
    /// <param name="directory">The directory to read.</param>
    /// <param name="interval">Time between scans.</param>
    /// <param name="logger">The logger.</param>
    public FolderSource(string directory, TimeSpan interval, ILogger<FolderSource> logger)
        : this(directory, interval, ImapOptions.DefaultMaxMessageSize, logger)
    {
    }

    /// <summary>Creates the source.</summary>
    /// <param name="directory">The directory to read.</param>
    /// <param name="interval">Time between scans.</param>
    /// <param name="maxMessageSize">The largest file, in bytes, that is read; a larger one goes to <c>failed/</c> unread.</param>
    /// <param name="logger">The logger.</param>
    public FolderSource(string directory, TimeSpan interval, long maxMessageSize, ILogger<FolderSource> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(logger);
        if (interval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(interval), interval, "MailOrderBot:Folder:PollInterval must be positive.");
        if (maxMessageSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxMessageSize), maxMessageSize, "MailOrderBot:Folder:MaxMessageSize must be positive.");
        _directory = Path.GetFullPath(directory);
        _interval = interval;
        _maxMessageSize = maxMessageSize;
        _logger = logger;
    }

    /// <summary>The largest file, in bytes, that is read.</summary>
    public long MaxMessageSize => _maxMessageSize;

    /// <summary>Files moved to <c>failed/</c> unread because they were larger than <see cref="MaxMessageSize"/>.</summary>
    public long TooLarge => Interlocked.Read(ref _tooLarge);

    /// <summary>Outcomes for task ids this source did not issue (or no longer has in flight): ignored, nothing moved.</summary>
    public long UnknownOutcomes => Interlocked.Read(ref _unknownOutcomes);

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
                    ["tooLarge"] = TooLarge.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["unknownOutcomes"] = UnknownOutcomes.ToString(System.Globalization.CultureInfo.InvariantCulture),
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
                var file = new FileInfo(path);
                if (file.LinkTarget is not null)
                {
                    // Reading through a link would let anyone who can write to the inbox make the bot read any file it can reach.
                    LogNotRegular(_logger, path);
                    Reject(key, path);
                    continue;
                }
                if (file.Length > _maxMessageSize)
                {
                    TooLargeFile(context, key, path, file.Length);
                    continue;
                }
                MimeMessage message;
                await using (var stream = new SizeLimitedStream(File.OpenRead(path), _maxMessageSize))
                    message = await MimeMessage.LoadAsync(stream, cancellationToken);
                task = ImapMessage.FromMime(message, _directory, key);
            }
            catch (MessageTooLargeException ex)
            {
                // It grew past the limit after the size was checked: stopped reading at the limit.
                TooLargeFile(context, key, path, ex.Length);
                continue;
            }
            catch (Exception ex) when (ex is FormatException or ParseException)
            {
                LogUnreadable(_logger, ex, path);
                Reject(key, path);
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

    /// <summary>Moves the file this source published as the task <see cref="TaskEnvelope{T}.Id"/> to <c>processed/</c>.</summary>
    public ValueTask OnSucceededAsync(TaskEnvelope<ImapMessage> envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        Settle(envelope.Id, "processed");
        return ValueTask.CompletedTask;
    }

    /// <summary>Moves the file this source published as the task <see cref="TaskEnvelope{T}.Id"/> to <c>failed/</c>.</summary>
    public ValueTask OnDeadLetteredAsync(TaskEnvelope<ImapMessage> envelope, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        LogDeadLettered(_logger, envelope.Id, reason);
        Settle(envelope.Id, "failed");
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Moves the file published as <paramref name="id"/>, found only in this source's own table of files in flight (an id it issued
    /// for a file it listed); any other id moves nothing.
    /// </summary>
    private void Settle(string id, string folder)
    {
        if (!_inFlight.TryGetValue(id, out var path))
        {
            Interlocked.Increment(ref _unknownOutcomes);
            LogUnknownOutcome(_logger, id, folder);
            return;
        }
        // Moved first, forgotten second: a scan running meanwhile either finds the id still in flight or the file gone. (The
        // other order let a scan between the two steps publish the settled file again.)
        try
        {
            if (File.Exists(path))
                Move(path, folder);
        }
        finally
        {
            _inFlight.TryRemove(id, out _); // also when the move failed: the next scan publishes the file again
        }
    }

    /// <summary>Moves a file that is never published to <c>failed/</c> and forgets it.</summary>
    private void Reject(string key, string path)
    {
        _inFlight.TryRemove(key, out _);
        Move(path, "failed");
    }

    private void TooLargeFile(ITaskSourceContext<ImapMessage> context, string key, string path, long size)
    {
        Interlocked.Increment(ref _tooLarge);
        LogTooLarge(_logger, path, size, _maxMessageSize);
        context.RecordEvent("message_too_large");
        Reject(key, path);
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

    [LoggerMessage(3, LogLevel.Error, "{Path} is {Size} bytes, over the limit of {Limit} bytes (MaxMessageSize); moved to failed/ unread")]
    private static partial void LogTooLarge(ILogger logger, string path, long size, long limit);

    [LoggerMessage(4, LogLevel.Warning, "{Path} is a link, not a regular file; moved to failed/ unread")]
    private static partial void LogNotRegular(ILogger logger, string path);

    [LoggerMessage(5, LogLevel.Warning, "An outcome arrived for task {Id}, which is not a file this source listed and has in flight; nothing was moved to {Folder}/")]
    private static partial void LogUnknownOutcome(ILogger logger, string id, string folder);

    /// <summary>Thrown by <see cref="SizeLimitedStream"/> when a file holds more than the limit.</summary>
#pragma warning disable CA1032, CA1064 // Private: thrown and caught inside this class only.
    private sealed class MessageTooLargeException(long length) : IOException($"The file holds more than {length} bytes.")
#pragma warning restore CA1032, CA1064
    {
        public long Length { get; } = length;
    }

    /// <summary>Reads at most <c>limit</c> bytes of a file and throws once it would read more: a file that grows while it is read stays bounded.</summary>
    private sealed class SizeLimitedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, Allowed(count)));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken).ConfigureAwait(false));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        /// <summary>One byte past the limit may be read: that byte proves the file is too large.</summary>
        private int Allowed(int count) => (int)Math.Min(count, limit + 1 - _read);

        private int Count(int read)
        {
            _read += read;
            if (_read > limit)
                throw new MessageTooLargeException(_read);
            return read;
        }
    }
}
