using System.Security.Cryptography;

namespace AppRuntime.Internal;

/// <summary>
/// Task ids for publishes that bring none: a random 64-bit prefix chosen once per process and a counter, both written in base 32
/// (digits and lower-case letters without i, l, o and u), the counter without leading zeros: <c>&lt;13 characters&gt;-&lt;counter&gt;</c>,
/// 15–27 characters (18 for the millionth task of a process, against 33 in hexadecimal with a fixed-width counter: 32 bytes less
/// per task in memory, and in every Redis key of the task). Unique across processes sharing a durable queue (the prefix) without
/// a random-number system call per task (the counter). Not ordered: nothing sorts tasks by id.
/// </summary>
internal static class TaskIds
{
    private const string Digits = "0123456789abcdefghjkmnpqrstvwxyz";
    private static readonly string s_prefix = Prefix(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
    private static long s_counter;

    public static string Next()
    {
        var n = (ulong)Interlocked.Increment(ref s_counter);
        var digits = 1;
        for (var rest = n >> 5; rest != 0; rest >>= 5)
            digits++;
        return string.Create(s_prefix.Length + 1 + digits, n, static (span, value) =>
        {
            s_prefix.AsSpan().CopyTo(span);
            span[s_prefix.Length] = '-';
            WriteBase32(span[(s_prefix.Length + 1)..], value);
        });
    }

    /// <summary>All 64 bits in 13 base-32 digits (the first carries the top 4 bits).</summary>
    private static string Prefix(ulong random) => string.Create(13, random, static (span, value) => WriteBase32(span, value));

    /// <summary>The low 5 × <c>span.Length</c> bits of <paramref name="value"/>, most significant digit first.</summary>
    private static void WriteBase32(Span<char> span, ulong value)
    {
        for (var i = span.Length - 1; i >= 0; i--, value >>= 5)
            span[i] = Digits[(int)(value & 31)];
    }
}
