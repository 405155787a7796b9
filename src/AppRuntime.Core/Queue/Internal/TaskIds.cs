using System.Security.Cryptography;

namespace AppRuntime.Internal;

/// <summary>
/// Task ids for publishes that bring none: a random 64-bit prefix chosen once per process and a counter. Unique across
/// processes sharing a durable queue (the prefix) without a random-number system call per task (the counter).
/// </summary>
internal static class TaskIds
{
    private static readonly string s_prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
    private static long s_counter;

    public static string Next()
    {
        var n = Interlocked.Increment(ref s_counter);
        return string.Create(s_prefix.Length + 17, n, static (span, value) =>
        {
            s_prefix.AsSpan().CopyTo(span);
            span[s_prefix.Length] = '-';
            value.TryFormat(span[(s_prefix.Length + 1)..], out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
        });
    }
}
