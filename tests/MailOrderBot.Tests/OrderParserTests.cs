using System.Text;
using MailOrderBot.Domain;
using MailOrderBot.Services;

namespace MailOrderBot.Tests;

public sealed class OrderParserTests
{
    private readonly OrderParser _parser = TestData.Parser();

    private OrderOutcome ParseText(string body, string? messageId = "<m1@test>") =>
        _parser.Parse(TestData.Email(TestData.Headers(messageId) + body));

    [Theory]
    [InlineData("SKU-1001 x 2")]
    [InlineData("2 x SKU-1001")]
    [InlineData("sku-1001 X 2")]
    [InlineData("   Sku-1001    x    2   ")]
    [InlineData("2x sku-1001")]
    [InlineData("SKU-1001x2")]
    [InlineData("\tSKU-1001 * 2")]
    public void An_order_line_is_read_in_every_accepted_shape(string line)
    {
        var outcome = ParseText($"Hello,\n{line}\nThanks\n");

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        var orderLine = Assert.Single(outcome.Lines);
        Assert.Equal("SKU-1001", orderLine.Sku);
        Assert.Equal(2, orderLine.Quantity);
        Assert.Equal(2490, orderLine.UnitPriceCents);
        Assert.Equal(4980, outcome.TotalCents);
    }

    [Fact]
    public void Several_lines_sum_to_the_total_and_name_and_address_are_read()
    {
        var outcome = ParseText("SKU-1001 x 2\n1 x sku-1003\nName:  Ann Buyer \nADDRESS: 1 Main Street, Springfield\n");

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(["SKU-1001", "SKU-1003"], outcome.Lines.Select(l => l.Sku));
        Assert.Equal(2 * 2490 + 1250, outcome.TotalCents);
        Assert.Equal("Ann Buyer", outcome.Customer);
        Assert.Equal("1 Main Street, Springfield", outcome.Address);
        Assert.Equal("<m1@test>".Trim('<', '>'), outcome.MessageId);
        Assert.Null(outcome.Reason);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero), outcome.ReceivedAt);
    }

    [Fact]
    public void Without_a_name_line_the_customer_is_the_sender()
    {
        var outcome = ParseText("SKU-1001 x 1\n");
        Assert.Contains("ann@example.com", outcome.Customer, StringComparison.Ordinal);
        Assert.Null(outcome.Address);
    }

    [Fact]
    public void Quoted_reply_lines_are_not_order_lines()
    {
        var outcome = ParseText("Thanks!\n> SKU-1001 x 2\n");
        Assert.Equal(OrderStatus.Rejected, outcome.Status);
        Assert.Equal("no order lines found", outcome.Reason);
    }

    [Fact]
    public void An_email_without_order_lines_is_rejected()
    {
        var outcome = ParseText("Do you ship to Norway?\n");
        Assert.Equal(OrderStatus.Rejected, outcome.Status);
        Assert.Equal("no order lines found", outcome.Reason);
        Assert.Equal(0, outcome.TotalCents);
    }

    [Fact]
    public void An_unknown_sku_rejects_the_whole_order_and_names_the_sku()
    {
        var outcome = ParseText("SKU-1001 x 1\nSKU-9999 x 1\n");
        Assert.Equal(OrderStatus.Rejected, outcome.Status);
        Assert.Equal("unknown SKU SKU-9999", outcome.Reason);
        Assert.Equal(2, outcome.Lines.Count);
        Assert.Equal(0, outcome.TotalCents);
    }

    [Theory]
    [InlineData("SKU-1001 x 0", "quantity 0 of SKU-1001 is not between 1 and 1000")]
    [InlineData("SKU-1001 x -3", "quantity -3 of SKU-1001 is not between 1 and 1000")]
    [InlineData("1001 x SKU-1001", "quantity 1001 of SKU-1001 is not between 1 and 1000")]
    [InlineData("SKU-1001 x 99999999999999999999999", "quantity 99999999999999999999999 of SKU-1001 is not between 1 and 1000")]
    public void A_quantity_out_of_range_rejects_the_order(string line, string reason)
    {
        var outcome = ParseText(line + "\n");
        Assert.Equal(OrderStatus.Rejected, outcome.Status);
        Assert.Equal(reason, outcome.Reason);
    }

    [Fact]
    public void The_largest_quantity_is_accepted()
    {
        Assert.Equal(OrderStatus.Accepted, ParseText("1000 x SKU-3001\n").Status);
    }

    [Fact]
    public void Several_problems_are_all_reported()
    {
        var outcome = ParseText("SKU-9999 x 1\nSKU-1001 x 0\n");
        Assert.Equal("unknown SKU SKU-9999; quantity 0 of SKU-1001 is not between 1 and 1000", outcome.Reason);
    }

    [Fact]
    public void A_csv_attachment_is_an_order()
    {
        var raw = TestData.Headers(contentType: "multipart/mixed; boundary=\"b\"") +
                  "--b\nContent-Type: text/plain\n\nSee attachment.\nName: Dan\n--b\n" +
                  "Content-Type: text/csv; name=order.csv\nContent-Disposition: attachment; filename=order.csv\n\n" +
                  "sku,quantity\nSKU-1001,5\n sku-1002 , 10 \n\n--b--\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal([("SKU-1001", 5L), ("SKU-1002", 10L)], outcome.Lines.Select(l => (l.Sku, l.Quantity)));
        Assert.Equal(5 * 2490 + 10 * 999, outcome.TotalCents);
        Assert.Equal("Dan", outcome.Customer);
    }

    [Fact]
    public void A_base64_csv_attachment_without_a_header_row_is_combined_with_body_lines()
    {
        var csv = Convert.ToBase64String(Encoding.UTF8.GetBytes("\uFEFFSKU-2001,1\r\nSKU-3001,3\r\n"));
        var raw = TestData.Headers(contentType: "multipart/mixed; boundary=\"b\"") +
                  "--b\nContent-Type: text/plain\n\nSKU-1001 x 1\n--b\n" +
                  "Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"ORDER.CSV\"\nContent-Transfer-Encoding: base64\n\n" +
                  csv + "\n--b--\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(["SKU-1001", "SKU-2001", "SKU-3001"], outcome.Lines.Select(l => l.Sku));
    }

    [Fact]
    public void A_csv_row_that_is_not_sku_comma_quantity_rejects_the_order()
    {
        var raw = TestData.Headers(contentType: "multipart/mixed; boundary=\"b\"") +
                  "--b\nContent-Type: text/plain\n\nattached\n--b\n" +
                  "Content-Type: text/csv\nContent-Disposition: attachment; filename=order.csv\n\nsku,quantity\nSKU-1001;2\n--b--\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Rejected, outcome.Status);
        Assert.Equal("order.csv row 2 is not 'sku,quantity'", outcome.Reason);
    }

    [Fact]
    public void Html_only_mail_is_converted_to_text_and_scripts_and_styles_are_ignored()
    {
        var raw = TestData.Headers(contentType: "text/html; charset=utf-8") +
                  "<html><head><style>SKU-1001 x 9</style><script>var a = 'SKU-1001 x 9';</script></head>" +
                  "<body><p>Hello</p><p>SKU-1001&nbsp;x&nbsp;2</p><div>1 x SKU-2002<br>Name: Eve &amp; Co</div></body></html>\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal([("SKU-1001", 2L), ("SKU-2002", 1L)], outcome.Lines.Select(l => (l.Sku, l.Quantity)));
        Assert.Equal("Eve & Co", outcome.Customer);
    }

    [Fact]
    public void The_text_part_wins_over_the_html_part_of_an_alternative()
    {
        var raw = TestData.Headers(contentType: "multipart/alternative; boundary=\"a\"") +
                  "--a\nContent-Type: text/plain\n\nSKU-1001 x 1\n--a\nContent-Type: text/html\n\n<p>SKU-1001 x 1</p><p>SKU-1002 x 1</p>\n--a--\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Single(outcome.Lines);
    }

    [Fact]
    public void A_quoted_printable_body_is_decoded()
    {
        var raw = TestData.Headers(extra: "Content-Transfer-Encoding: quoted-printable") +
                  "SKU-1001 =\nx 3\nName: J=C3=BCrgen M=C3=BCller\nAddress: Stra=C3=9Fe 5\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(3, Assert.Single(outcome.Lines).Quantity);
        Assert.Equal("Jürgen Müller", outcome.Customer);
        Assert.Equal("Straße 5", outcome.Address);
    }

    [Fact]
    public void A_base64_body_is_decoded()
    {
        var body = Convert.ToBase64String(Encoding.UTF8.GetBytes("SKU-1002 x 4\nName: Frank\n"), Base64FormattingOptions.InsertLineBreaks);
        var raw = TestData.Headers(extra: "Content-Transfer-Encoding: base64") + body + "\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(4, Assert.Single(outcome.Lines).Quantity);
        Assert.Equal("Frank", outcome.Customer);
    }

    [Fact]
    public void A_latin1_body_is_decoded_with_its_charset()
    {
        var bytes = Encoding.Latin1.GetBytes((TestData.Headers(contentType: "text/plain; charset=iso-8859-1") + "SKU-2001 x 1\nName: Renée Café\n").ReplaceLineEndings("\r\n"));

        var outcome = _parser.Parse(TestData.Email(bytes));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal("Renée Café", outcome.Customer);
    }

    [Fact]
    public void An_unknown_charset_still_yields_the_ascii_order_lines()
    {
        var outcome = _parser.Parse(TestData.Email(TestData.Headers(contentType: "text/plain; charset=x-no-such-charset") + "SKU-1003 x 2\n"));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(2500, outcome.TotalCents);
    }

    [Fact]
    public void A_multipart_whose_boundary_never_closes_is_still_read()
    {
        var raw = TestData.Headers(contentType: "multipart/mixed; boundary=\"open\"") + "--open\nContent-Type: text/plain\n\nSKU-3001 x 3\n";

        var outcome = _parser.Parse(TestData.Email(raw));

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(3, Assert.Single(outcome.Lines).Quantity);
    }

    [Fact]
    public void A_multipart_without_a_boundary_is_rejected_not_crashed()
    {
        var outcome = _parser.Parse(TestData.Email(TestData.Headers(contentType: "multipart/mixed") + "SKU-1001 x 1\n"));

        Assert.Equal(OrderStatus.Rejected, outcome.Status);
        Assert.Equal("no order lines found", outcome.Reason);
    }

    [Fact]
    public void A_message_with_a_garbage_header_line_and_no_message_id_is_still_read()
    {
        var outcome = _parser.Parse(TestData.Email("Subject: hi\nthis is not a header\n\u0001\u0002 neither\n\nSKU-1001 x 1\n"));

        Assert.StartsWith("sha256:", outcome.MessageId, StringComparison.Ordinal);
        Assert.Equal(OrderStatus.Accepted, outcome.Status);
    }

    [Fact]
    public void A_huge_body_is_parsed_and_its_order_lines_found()
    {
        var filler = string.Concat(Enumerable.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit 12 x 34.\n", 80_000)); // ~5 MB
        var outcome = ParseText("SKU-1001 x 1\n" + filler + "2 x SKU-1002\n");

        Assert.Equal(OrderStatus.Accepted, outcome.Status);
        Assert.Equal(["SKU-1001", "SKU-1002"], outcome.Lines.Select(l => l.Sku));
    }

    [Fact]
    public void Without_a_message_id_the_key_is_derived_from_the_content_and_stable()
    {
        var first = ParseText("SKU-1001 x 1\n", messageId: null);
        var again = ParseText("SKU-1001 x 1\n", messageId: null);
        var other = ParseText("SKU-1001 x 2\n", messageId: null);

        Assert.StartsWith("sha256:", first.MessageId, StringComparison.Ordinal);
        Assert.Equal(first.MessageId, again.MessageId);
        Assert.NotEqual(first.MessageId, other.MessageId);
    }

    [Fact]
    public void Without_a_date_the_order_is_dated_when_processed()
    {
        var outcome = _parser.Parse(TestData.Email("Message-ID: <nodate@test>\nContent-Type: text/plain\n\nSKU-1001 x 1\n"));
        Assert.Equal(TestData.Now, outcome.ReceivedAt);
    }
}
