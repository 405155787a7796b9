using System.Globalization;
using System.Text;

namespace AppRuntime.Internal;

/// <summary>
/// Makes text safe for a terminal or a line-oriented log file: control characters become visible escapes, and the text is cut at
/// a maximum length. Used by the console formatter AppRuntime registers (<see cref="SanitizingConsoleFormatter"/>), so every log
/// message is treated the same way wherever its values came from (an email subject, a file name, an exception message).
/// </summary>
internal static class LogText
{
    /// <summary>
    /// Escapes what a terminal or a log reader would interpret: C0 controls (<c>\x1B</c> starts ANSI sequences, <c>\a</c> rings,
    /// <c>\r</c> and <c>\n</c> forge lines), DEL, C1 controls (<c>\x9B</c> is a one-byte CSI), the Unicode line and paragraph
    /// separators and the bidirectional overrides that reorder what a reader sees. <paramref name="keepNewLines"/> keeps <c>\n</c>
    /// (an exception's stack trace). Then cuts the result at <paramref name="maxLength"/> (<see cref="TextLimits.Truncate"/>).
    /// Returns the same instance when nothing changes.
    /// </summary>
    public static string Sanitize(string text, bool keepNewLines, int maxLength)
    {
        var first = -1;
        for (var i = 0; i < text.Length; i++)
        {
            if (MustEscape(text[i], keepNewLines))
            {
                first = i;
                break;
            }
        }
        if (first >= 0)
        {
            var builder = new StringBuilder(text.Length + 16);
            builder.Append(text, 0, first);
            for (var i = first; i < text.Length; i++)
            {
                var c = text[i];
                if (!MustEscape(c, keepNewLines))
                {
                    builder.Append(c);
                    continue;
                }
                switch (c)
                {
                    case '\n':
                        builder.Append("\\n");
                        break;
                    case '\r':
                        builder.Append("\\r");
                        break;
                    case '\t':
                        builder.Append("\\t");
                        break;
                    default:
                        if (c <= '\u00FF')
                            builder.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                        else
                            builder.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                        break;
                }
                // Bound the work on huge texts: nothing past the limit is shown anyway.
                if (builder.Length > maxLength)
                    return TextLimits.Cut(builder.ToString(), text.Length, maxLength);
            }
            text = builder.ToString();
        }
        return text.Length <= maxLength ? text : TextLimits.Truncate(text, maxLength);
    }

    private static bool MustEscape(char c, bool keepNewLines) =>
        c switch
        {
            '\n' => !keepNewLines,
            < ' ' => true,                                   // C0: ESC, BEL, CR, BS, ...
            >= '\u007F' and <= '\u009F' => true,             // DEL and C1 (CSI \x9B)
            '\u2028' or '\u2029' => true,                    // line and paragraph separators
            >= '\u202A' and <= '\u202E' => true,             // bidirectional embeddings and overrides
            >= '\u2066' and <= '\u2069' => true,             // bidirectional isolates
            _ => false,
        };
}
