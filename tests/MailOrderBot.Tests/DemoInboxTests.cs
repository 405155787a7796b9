using MailOrderBot.Domain;
using MimeKit;

namespace MailOrderBot.Tests;

/// <summary>Every email of the bundled demo inbox ends the way samples/MailOrderBot/README.md says.</summary>
public sealed class DemoInboxTests
{
    [Theory]
    [InlineData("01-simple-order.eml", OrderStatus.Accepted, 2 * 2490 + 1250)]
    [InlineData("02-quantity-first.eml", OrderStatus.Accepted, 2 * 999 + 425)]
    [InlineData("03-mixed-case-spaces.eml", OrderStatus.Accepted, 5900 + 3 * 425)]
    [InlineData("04-csv-attachment.eml", OrderStatus.Accepted, 5 * 2490 + 10 * 999)]
    [InlineData("05-html-only.eml", OrderStatus.Accepted, 4 * 1250 + 4500)]
    [InlineData("06-quoted-printable.eml", OrderStatus.Accepted, 2490 + 2 * 425)]
    [InlineData("07-base64-body.eml", OrderStatus.Accepted, 3 * 999)]
    [InlineData("08-latin1.eml", OrderStatus.Accepted, 5900)]
    [InlineData("09-unknown-charset.eml", OrderStatus.Accepted, 2 * 1250)]
    [InlineData("10-no-message-id.eml", OrderStatus.Accepted, 2490)]
    [InlineData("11-multipart-alternative.eml", OrderStatus.Accepted, 2 * 4500)]
    [InlineData("12-duplicate-of-01.eml", OrderStatus.Accepted, 2 * 2490 + 1250)]
    [InlineData("13-unknown-sku.eml", OrderStatus.Rejected, 0)]
    [InlineData("14-quantity-zero.eml", OrderStatus.Rejected, 0)]
    [InlineData("15-quantity-too-large.eml", OrderStatus.Rejected, 0)]
    [InlineData("16-no-order-lines.eml", OrderStatus.Rejected, 0)]
    [InlineData("17-bad-csv-row.eml", OrderStatus.Rejected, 0)]
    [InlineData("18-broken-multipart.eml", OrderStatus.Accepted, 3 * 425)]
    [InlineData("19-missing-boundary.eml", OrderStatus.Rejected, 0)]
    public void A_demo_email_gets_its_documented_outcome(string file, OrderStatus status, long totalCents)
    {
        var email = TestData.Email(File.ReadAllBytes(Path.Combine(TestData.DemoInbox, file)), "file:" + file);

        var outcome = TestData.Parser().Parse(email);

        Assert.True(status == outcome.Status, $"{file}: {outcome.Status} ({outcome.Reason})");
        Assert.Equal(totalCents, outcome.TotalCents);
        if (status == OrderStatus.Rejected)
            Assert.False(string.IsNullOrEmpty(outcome.Reason));
    }

    [Theory]
    [InlineData("20-empty.eml")]
    [InlineData("21-not-an-email.eml")]
    public void A_demo_file_that_is_not_an_email_cannot_be_parsed(string file)
    {
        Assert.ThrowsAny<FormatException>(() => MimeMessage.Load(Path.Combine(TestData.DemoInbox, file)));
    }

    [Fact]
    public void The_duplicate_demo_email_has_the_same_order_key_as_the_original()
    {
        var parser = TestData.Parser();
        var original = parser.Parse(TestData.Email(File.ReadAllBytes(Path.Combine(TestData.DemoInbox, "01-simple-order.eml"))));
        var duplicate = parser.Parse(TestData.Email(File.ReadAllBytes(Path.Combine(TestData.DemoInbox, "12-duplicate-of-01.eml"))));
        Assert.Equal(original.MessageId, duplicate.MessageId);
    }
}
