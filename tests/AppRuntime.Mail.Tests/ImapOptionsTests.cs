namespace AppRuntime.Mail.Tests;

/// <summary>Plain-text IMAP is accepted for loopback hosts only, unless AllowInsecure says otherwise (issue #19, finding 7).</summary>
public sealed class ImapOptionsTests
{
    [Theory]
    [InlineData("127.0.0.1", ImapSecurity.None, false, true)]
    [InlineData("127.8.9.10", ImapSecurity.None, false, true)]
    [InlineData("localhost", ImapSecurity.None, false, true)]
    [InlineData("LOCALHOST", ImapSecurity.None, false, true)]
    [InlineData("::1", ImapSecurity.None, false, true)]
    [InlineData("[::1]", ImapSecurity.None, false, true)]
    [InlineData("::ffff:127.0.0.1", ImapSecurity.None, false, true)]
    [InlineData("mail.example.com", ImapSecurity.None, false, false)]
    [InlineData("192.0.2.10", ImapSecurity.None, false, false)]
    [InlineData("10.0.0.5", ImapSecurity.None, false, false)]
    [InlineData("localhost.example.com", ImapSecurity.None, false, false)]
    [InlineData("127.0.0.1.nip.io", ImapSecurity.None, false, false)]
    [InlineData("0.0.0.0", ImapSecurity.None, false, false)]
    [InlineData("mail.example.com", ImapSecurity.None, true, true)]
    [InlineData("mail.example.com", ImapSecurity.StartTls, false, true)]
    [InlineData("mail.example.com", ImapSecurity.SslOnConnect, false, true)]
    public void Plain_text_is_accepted_for_loopback_hosts_or_with_AllowInsecure(string host, ImapSecurity security, bool allowInsecure, bool valid)
    {
        var options = new ImapOptions { Host = host, Security = security, AllowInsecure = allowInsecure, Username = "bot", Password = "secret" };

        if (valid)
        {
            options.Validate();
            return;
        }
        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains($"'{host}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowInsecure", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_for_a_remote_host_in_plain_text_cannot_be_created()
    {
        var options = new ImapOptions { Host = "mail.example.com", Security = ImapSecurity.None, Username = "bot", Password = "secret" };

        Assert.Throws<ArgumentException>(() => new ImapPollingSource(options));
        Assert.Throws<ArgumentException>(() => new ImapIdleSource(options));
    }

    [Fact]
    public void The_options_printed_never_show_the_password()
    {
        var options = new ImapOptions { Host = "127.0.0.1", Username = "bot", Password = "printed-secret" };

        Assert.DoesNotContain("printed-secret", options.ToString(), StringComparison.Ordinal);
        Assert.Contains("Password = ***", options.ToString(), StringComparison.Ordinal);
    }
}
