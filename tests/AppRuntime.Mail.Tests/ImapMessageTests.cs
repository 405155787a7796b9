using System.Text;
using System.Text.Json;
using MimeKit;

namespace AppRuntime.Mail.Tests;

public sealed class ImapMessageTests
{
    [Fact]
    public void A_converted_message_round_trips_through_the_source_generated_json_context()
    {
        var mime = ImapTestServer.Message("Hello", "SKU-1001 x 2", "abc@test", html: "<b>hi</b>",
            attachment: ("order.csv", "text/csv", Encoding.UTF8.GetBytes("sku,quantity\nSKU-1,1\n")));
        var task = ImapMessage.FromMime(mime, "INBOX", 42, 7);

        var json = JsonSerializer.SerializeToUtf8Bytes(task, ImapMessage.JsonTypeInfo);
        var back = new JsonTaskSerializer<ImapMessage>(ImapMessage.JsonTypeInfo).Deserialize(json);

        Assert.Equal("42:7", back.IdempotencyKey);
        Assert.Equal(7u, back.Uid);
        Assert.Equal(42u, back.UidValidity);
        Assert.Equal("abc@test", back.MessageId);
        Assert.Equal(task.TextBody, back.TextBody);
        Assert.Equal(task.HtmlBody, back.HtmlBody);
        Assert.Equal(task.Headers, back.Headers);
        Assert.Equal(task.To, back.To);
        Assert.Equal(task.Attachments[0].Content, back.Attachments[0].Content);
        Assert.Equal("order.csv", back.Attachments[0].FileName);
    }

    [Fact]
    public void A_message_without_message_id_or_date_converts_with_empty_values()
    {
        var mime = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes("Subject: bare\r\n\r\nSKU-1001 x 1\r\n")));

        var task = ImapMessage.FromMime(mime, "/tmp/inbox", "file:bare.eml");

        Assert.Null(task.MessageId);
        Assert.Equal(DateTimeOffset.MinValue, task.Date);
        Assert.Equal("file:bare.eml", task.IdempotencyKey);
        Assert.Equal(0u, task.Uid);
        Assert.Equal("SKU-1001 x 1", task.TextBody?.Trim());
        Assert.Empty(task.Attachments);
    }

    [Theory]
    [InlineData("", 143, "user")]
    [InlineData("host", 0, "user")]
    [InlineData("host", 143, "")]
    public void Invalid_options_are_rejected_by_the_sources(string host, int port, string user)
    {
        var options = new ImapOptions { Host = host, Port = port, Username = user, Password = "p" };
        Assert.Throws<ArgumentException>(() => new ImapIdleSource(options));
        Assert.Throws<ArgumentException>(() => new ImapPollingSource(options));
    }

    [Fact]
    public void A_failed_keyword_with_spaces_is_rejected()
    {
        var options = new ImapOptions { Host = "h", Username = "u", Password = "p", FailedKeyword = "bad keyword" };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("FailedKeyword", error.Message, StringComparison.Ordinal);
    }
}
