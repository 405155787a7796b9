using System;
using System.Collections.Generic;

namespace AppRuntime.Generators.Diagnostics;

/// <summary>"Did you mean": the closest candidate, compared case-insensitively, within a small edit distance (as the runtime's NameSuggestions).</summary>
internal static class NameSuggestion
{
    /// <summary>The closest candidate, or null. A candidate that differs only in case is always the answer.</summary>
    public static string? Closest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            if (string.Equals(candidate, name, StringComparison.Ordinal))
                continue;
            var d = Distance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }
        return bestDistance <= Math.Max(1, name.Length / 3) ? best : null;
    }

    /// <summary><c>"; did you mean 'x'?"</c>, or an empty string.</summary>
    public static string DidYouMean(string name, IEnumerable<string> candidates) =>
        Closest(name, candidates) is { } suggestion ? "; did you mean '" + suggestion + "'?" : "";

    /// <summary>Edit distance counting a swap of two neighbours as one edit (Prot → Port).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
