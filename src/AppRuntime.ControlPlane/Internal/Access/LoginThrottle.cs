using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;

namespace AppRuntime.Internal;

/// <summary>
/// Lockout after repeated failures, on the control plane's <see cref="TimeProvider"/>: a user name is locked after
/// <see cref="ControlPlaneLoginSettings.MaxFailuresPerUser"/> failed sign-ins in a row, a client address after
/// <see cref="ControlPlaneLoginSettings.MaxFailuresPerClient"/> failed sign-ins or refused API keys and tokens, each for
/// <see cref="ControlPlaneLoginSettings.LockoutDuration"/>. A success clears the count; a failure older than the lockout duration is
/// forgotten. The per-user attempt rate is a <see cref="PartitionedRateLimiter{TResource}"/> (System.Threading.RateLimiting);
/// the per-client attempt rate is the ASP.NET Core rate limiter on the sign-in endpoint.
/// </summary>
internal sealed partial class LoginThrottle : IDisposable
{
    private const int MaxTracked = 100_000;

    private readonly Func<ControlPlaneLoginSettings> _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Failures> _failures = new(StringComparer.Ordinal);
    private readonly PartitionedRateLimiter<string> _userAttempts;

    public LoginThrottle(Func<ControlPlaneLoginSettings> settings, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
        var perUser = settings().AttemptsPerUserPerMinute;
        _userAttempts = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.GetFixedWindowLimiter(user, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perUser,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>True when one more sign-in attempt for <paramref name="user"/> fits this minute's budget.</summary>
    public bool TryAttemptUser(string user, out TimeSpan retryAfter)
    {
        using var lease = _userAttempts.AttemptAcquire(user);
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        return lease.IsAcquired;
    }

    public bool IsUserLocked(string user, out TimeSpan remaining) => IsLocked(UserKey(user), out remaining);

    public bool IsClientLocked(string client, out TimeSpan remaining) => IsLocked(ClientKey(client), out remaining);

    /// <summary>Counts a failed sign-in against the user name and the client; true when it locked either.</summary>
    public bool RecordLoginFailure(string user, string client)
    {
        var settings = _settings();
        var userLocked = Fail(UserKey(user), settings.MaxFailuresPerUser, settings.LockoutDuration);
        var clientLocked = Fail(ClientKey(client), settings.MaxFailuresPerClient, settings.LockoutDuration);
        if (userLocked)
            Log.UserLocked(_logger, user, settings.MaxFailuresPerUser, settings.LockoutDuration);
        if (clientLocked)
            Log.ClientLocked(_logger, client, settings.MaxFailuresPerClient, settings.LockoutDuration);
        return userLocked || clientLocked;
    }

    /// <summary>Counts a refused API key or token against the client; true when it locked the client.</summary>
    public bool RecordCredentialFailure(string client)
    {
        var settings = _settings();
        var locked = Fail(ClientKey(client), settings.MaxFailuresPerClient, settings.LockoutDuration);
        if (locked)
            Log.ClientLocked(_logger, client, settings.MaxFailuresPerClient, settings.LockoutDuration);
        return locked;
    }

    public void RecordLoginSuccess(string user, string client)
    {
        _failures.TryRemove(UserKey(user), out _);
        _failures.TryRemove(ClientKey(client), out _);
    }

    public void Dispose() => _userAttempts.Dispose();

    private bool IsLocked(string key, out TimeSpan remaining)
    {
        remaining = TimeSpan.Zero;
        if (!_failures.TryGetValue(key, out var state))
            return false;
        lock (state)
        {
            var now = _time.GetUtcNow();
            if (state.LockedUntil is { } until && until > now)
            {
                remaining = until - now;
                return true;
            }
            return false;
        }
    }

    private bool Fail(string key, int max, TimeSpan lockout)
    {
        var now = _time.GetUtcNow();
        if (_failures.Count >= MaxTracked)
            Sweep(now, lockout);
        var state = _failures.GetOrAdd(key, _ => new Failures());
        lock (state)
        {
            if (state.LockedUntil is { } until && until <= now)
            {
                state.LockedUntil = null;
                state.Count = 0;
            }
            if (state.LastFailure is { } last && now - last > lockout)
                state.Count = 0;
            state.LastFailure = now;
            state.Count++;
            if (state.Count < max || state.LockedUntil is not null)
                return false;
            state.LockedUntil = now + lockout;
            state.Count = 0;
            return true;
        }
    }

    /// <summary>Forgets entries whose failures and lockout are over, so random user names cannot grow the table without end.</summary>
    private void Sweep(DateTimeOffset now, TimeSpan lockout)
    {
        foreach (var (key, state) in _failures)
        {
            lock (state)
            {
                if ((state.LockedUntil ?? DateTimeOffset.MinValue) <= now && (state.LastFailure ?? DateTimeOffset.MinValue) + lockout <= now)
                    _failures.TryRemove(key, out _);
            }
        }
    }

    private static string UserKey(string user) => "user:" + user.ToUpperInvariant();

    private static string ClientKey(string client) => "client:" + client;

    private sealed class Failures
    {
        public int Count;
        public DateTimeOffset? LastFailure;
        public DateTimeOffset? LockedUntil;
    }

    private static partial class Log
    {
        [LoggerMessage(80, LogLevel.Warning, "Control plane: user name '{User}' locked out after {Failures} failed sign-ins in a row, for {Duration}")]
        public static partial void UserLocked(ILogger logger, string user, int failures, TimeSpan duration);

        [LoggerMessage(81, LogLevel.Warning, "Control plane: client {Client} locked out after {Failures} failed credential checks in a row, for {Duration}")]
        public static partial void ClientLocked(ILogger logger, string client, int failures, TimeSpan duration);
    }
}
