using System.Globalization;

namespace AppRuntime;

/// <summary>
/// Bounds text that comes from outside before it is stored or shown: failure reasons (dead letters, traces, logs) and values an
/// application records (the Mail Order Bot's rejection reasons). A cut text says so, and how long it was, in the text itself.
/// </summary>
public static class TextLimits
{
    /// <summary>The default longest failure reason kept: 1 KiB (1024 characters).</summary>
    public const int DefaultMaxReasonLength = 1024;

    /// <summary>The shortest limit <see cref="Truncate"/> accepts: room for some text and the note.</summary>
    public const int MinimumLength = 64;

    /// <summary>
    /// Returns <paramref name="text"/> when it has at most <paramref name="maxLength"/> characters; otherwise its beginning and the
    /// note <c>… [truncated: 1900000 characters in all]</c>, together exactly <paramref name="maxLength"/> characters at most (a
    /// surrogate pair is never split).
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="maxLength">The most characters the result may have, at least <see cref="MinimumLength"/>.</param>
    public static string Truncate(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, MinimumLength);
        return text.Length <= maxLength ? text : Cut(text, text.Length, maxLength);
    }

    /// <summary>The beginning of <paramref name="text"/> and the note naming <paramref name="totalLength"/>, at most <paramref name="maxLength"/> characters.</summary>
    internal static string Cut(ReadOnlySpan<char> text, int totalLength, int maxLength)
    {
        var note = string.Create(CultureInfo.InvariantCulture, $"… [truncated: {totalLength} characters in all]");
        var keep = Math.Min(text.Length, Math.Max(0, maxLength - note.Length));
        if (keep > 0 && char.IsHighSurrogate(text[keep - 1]))
            keep--;
        return string.Concat(text[..keep], note);
    }
}
