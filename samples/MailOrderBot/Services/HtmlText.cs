using System.Text;
using MimeKit.Text;

namespace MailOrderBot.Services;

/// <summary>Turns an HTML body into plain text: text content kept (entities decoded), block ends and <c>&lt;br&gt;</c> become line breaks, scripts and styles dropped.</summary>
internal static class HtmlText
{
    public static string ToText(string html)
    {
        var text = new StringBuilder(html.Length / 2);
        var tokenizer = new HtmlTokenizer(new StringReader(html));
        var skipDepth = 0;
        while (tokenizer.ReadNextToken(out var token))
        {
            switch (token)
            {
                case HtmlTagToken tag:
                    if (tag.Id is HtmlTagId.Script or HtmlTagId.Style or HtmlTagId.Head)
                    {
                        if (tag.IsEndTag)
                            skipDepth = Math.Max(0, skipDepth - 1);
                        else if (!tag.IsEmptyElement)
                            skipDepth++;
                    }
                    else if (tag.Id is HtmlTagId.Br || (tag.IsEndTag && IsBlock(tag.Id)) || (!tag.IsEndTag && IsBlock(tag.Id)))
                    {
                        text.Append('\n');
                    }

                    break;
                case HtmlDataToken data when skipDepth == 0 && token.Kind is HtmlTokenKind.Data or HtmlTokenKind.CData:
                    text.Append(data.Data);
                    break;
            }
        }

        return text.ToString();
    }

    private static bool IsBlock(HtmlTagId id) => id is HtmlTagId.P or HtmlTagId.Div or HtmlTagId.LI or HtmlTagId.TR or HtmlTagId.Table
        or HtmlTagId.H1 or HtmlTagId.H2 or HtmlTagId.H3 or HtmlTagId.H4 or HtmlTagId.H5 or HtmlTagId.H6 or HtmlTagId.Pre
        or HtmlTagId.BlockQuote or HtmlTagId.UL or HtmlTagId.OL or HtmlTagId.Body;
}
