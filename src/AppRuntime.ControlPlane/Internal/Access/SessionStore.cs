using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Internal;

/// <summary>One dashboard session as an admin sees it.</summary>
internal sealed record SessionView(string Id, string User, ControlRole Role, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset AbsoluteExpiresAt, string? ClientAddress, string? UserAgent, bool Current);

/// <summary>
/// The server side of the dashboard sessions: ASP.NET Core cookie authentication keeps only a random key in the (encrypted) cookie and
/// the ticket here, so an admin can list sessions and revoke one, and a revoked or expired session is gone at the next request.
/// Sessions live in memory and end with the process. Each session has a public id (in the <see cref="Callers.SessionClaim"/> claim)
/// distinct from its key, so listing sessions never shows what the cookies carry.
/// </summary>
internal sealed class SessionStore(TimeProvider time) : ITicketStore
{
    /// <summary>The most sessions one user keeps; signing in again ends the oldest beyond it.</summary>
    public const int MaxPerUser = 20;

    private readonly ConcurrentDictionary<string, Entry> _byKey = new(StringComparer.Ordinal);

    public static string NewId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));

    public Task<string> StoreAsync(AuthenticationTicket ticket) => StoreAsync(ticket, null!, CancellationToken.None);

    public Task<string> StoreAsync(AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Sweep(now);
        var key = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var principal = ticket.Principal;
        var entry = new Entry(key, principal.FindFirstValue(Callers.SessionClaim) ?? NewId(), principal.Identity?.Name ?? "?", now,
            httpContext is null ? null : Callers.ClientAddress(httpContext),
            httpContext?.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent[..Math.Min(agent.Length, 200)] : null)
        {
            Ticket = ticket,
            LastSeen = now,
        };
        _byKey[key] = entry;
        TrimUser(entry.User);
        return Task.FromResult(key);
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket) => RenewAsync(key, ticket, null!, CancellationToken.None);

    public Task RenewAsync(string key, AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (_byKey.TryGetValue(key, out var entry))
            entry.Ticket = ticket;
        return Task.CompletedTask;
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => RetrieveAsync(key, null!, CancellationToken.None);

    public Task<AuthenticationTicket?> RetrieveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!_byKey.TryGetValue(key, out var entry))
            return Task.FromResult<AuthenticationTicket?>(null);
        var now = time.GetUtcNow();
        if (entry.Ticket.Properties.ExpiresUtc is { } expires && expires <= now)
        {
            _byKey.TryRemove(key, out _);
            return Task.FromResult<AuthenticationTicket?>(null);
        }
        entry.LastSeen = now;
        return Task.FromResult<AuthenticationTicket?>(entry.Ticket);
    }

    public Task RemoveAsync(string key) => RemoveAsync(key, null!, CancellationToken.None);

    public Task RemoveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken)
    {
        _byKey.TryRemove(key, out _);
        return Task.CompletedTask;
    }

    /// <summary>When the session with public id <paramref name="id"/> began, or null when it is gone.</summary>
    public DateTimeOffset? CreatedAt(string id) => _byKey.Values.FirstOrDefault(e => e.Id == id)?.CreatedAt;

    /// <summary>Ends the session with public id <paramref name="id"/>; returns its user, or null when there is none.</summary>
    public string? Revoke(string id)
    {
        foreach (var entry in _byKey.Values)
        {
            if (entry.Id == id && _byKey.TryRemove(entry.Key, out _))
                return entry.User;
        }
        return null;
    }

    /// <summary>Ends every session of <paramref name="user"/> (a disabled or removed user, a changed password).</summary>
    public int RevokeUser(string user)
    {
        var n = 0;
        foreach (var entry in _byKey.Values)
        {
            if (entry.User == user && _byKey.TryRemove(entry.Key, out _))
                n++;
        }
        return n;
    }

    public IReadOnlyList<SessionView> List(string? currentId, TimeSpan absoluteTimeout)
    {
        Sweep(time.GetUtcNow());
        return [.. _byKey.Values.OrderBy(e => e.CreatedAt).Select(e => new SessionView(e.Id, e.User, Callers.RoleOf(e.Ticket.Principal), e.CreatedAt, e.LastSeen,
            e.Ticket.Properties.ExpiresUtc, e.CreatedAt + absoluteTimeout, e.ClientAddress, e.UserAgent, e.Id == currentId))];
    }

    public int Count => _byKey.Count;

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, entry) in _byKey)
        {
            if (entry.Ticket.Properties.ExpiresUtc is { } expires && expires <= now)
                _byKey.TryRemove(key, out _);
        }
    }

    private void TrimUser(string user)
    {
        var sessions = _byKey.Values.Where(e => e.User == user).OrderByDescending(e => e.CreatedAt).Skip(MaxPerUser).ToList();
        foreach (var old in sessions)
            _byKey.TryRemove(old.Key, out _);
    }

    private sealed record Entry(string Key, string Id, string User, DateTimeOffset CreatedAt, string? ClientAddress, string? UserAgent)
    {
        public required AuthenticationTicket Ticket { get; set; }

        public DateTimeOffset LastSeen { get; set; }
    }
}
