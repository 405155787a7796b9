using System.Text;
using AppRuntime.Mail;
using MailOrderBot.Domain;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace MailOrderBot.Tests;

internal static class TestData
{
    public static readonly DateTimeOffset Now = new(2026, 11, 30, 15, 0, 0, TimeSpan.Zero);

    public static MailOrderBotSettings Settings(string? storePath = null) => new()
    {
        Catalog = new Dictionary<string, ProductSettings>(StringComparer.OrdinalIgnoreCase)
        {
            ["SKU-1001"] = new() { Name = "Espresso beans 1 kg", Price = 24.90m },
            ["SKU-1002"] = new() { Name = "Filter coffee 500 g", Price = 9.99m },
            ["sku-1003"] = new() { Name = "Ceramic mug", Price = 12.50m },
            ["SKU-2001"] = new() { Name = "Hand grinder", Price = 59.00m },
            ["SKU-2002"] = new() { Name = "Pour-over kettle", Price = 45.00m },
            ["SKU-3001"] = new() { Name = "Paper filters (100)", Price = 4.25m },
        },
        Store = new StoreSettings { Path = storePath ?? Path.Combine(Path.GetTempPath(), $"orders-{Guid.NewGuid():N}.db") },
    };

    public static OrderParser Parser() => new(new Catalog(Settings()), new FakeTimeProvider(Now), Settings());

    /// <summary>Parses raw MIME text (LF line ends become CRLF) the way the sources do: MimeKit, then the task conversion.</summary>
    public static ImapMessage Email(string raw, string key = "test:1")
    {
        var bytes = Encoding.UTF8.GetBytes(raw.ReplaceLineEndings("\r\n"));
        return Email(bytes, key);
    }

    public static ImapMessage Email(byte[] raw, string key = "test:1")
    {
        var message = MimeMessage.Load(new MemoryStream(raw));
        return ImapMessage.FromMime(message, "test", key);
    }

    public static string Headers(string? messageId = "<m1@test>", string contentType = "text/plain; charset=utf-8", string? extra = null) =>
        "From: Ann Buyer <ann@example.com>\nTo: orders@shop.example\nSubject: Order\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n" +
        (messageId is null ? "" : $"Message-ID: {messageId}\n") +
        "MIME-Version: 1.0\n" +
        $"Content-Type: {contentType}\n" +
        (extra is null ? "" : extra + "\n") +
        "\n";

    public static string DemoInbox => Path.Combine(AppContext.BaseDirectory, "demo-inbox");
}
