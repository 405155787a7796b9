using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using AppRuntime.TestSupport;

namespace AppRuntime.Mail.Tests;

/// <summary>
/// TLS on connect and STARTTLS against a Dovecot of its own with TLS enabled (same script, APPRUNTIME_DOVECOT_TLS=1, its own
/// directory and ports), trusting exactly its self-signed certificate.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ImapSecurityIntegrationTests
{
    private const int PlainPort = 10146;
    private const int ImapsPort = 10994;

    [Theory]
    [InlineData(ImapSecurity.SslOnConnect, ImapsPort)]
    [InlineData(ImapSecurity.StartTls, PlainPort)]
    public async Task The_source_reads_mail_over_tls(ImapSecurity security, int port)
    {
        var dir = Path.Combine(Path.GetTempPath(), "appruntime-dovecot-tls-test");
        var env = new Dictionary<string, string>
        {
            ["APPRUNTIME_DOVECOT_DIR"] = dir,
            ["APPRUNTIME_IMAP_PORT"] = PlainPort.ToString(CultureInfo.InvariantCulture),
            ["APPRUNTIME_IMAPS_PORT"] = ImapsPort.ToString(CultureInfo.InvariantCulture),
            ["APPRUNTIME_DOVECOT_TLS"] = "1",
        };
        await ImapTestServer.RunScriptAsync("start", env);
        try
        {
            using var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "tls", "cert.pem")));
            var folder = await ImapTestServer.CreateFolderAsync("tls", port: PlainPort);
            var uid = await ImapTestServer.AppendAsync(folder, ImapTestServer.Message("Secure", "SKU-1001 x 1"), port: PlainPort);
            var validated = 0;
            var options = ImapTestServer.Options(folder, port: port) with
            {
                Security = security,
                CertificateValidation = (_, certificate, _, _) =>
                {
                    Interlocked.Increment(ref validated);
                    return certificate is not null && certificate.GetCertHashString() == trusted.GetCertHashString();
                },
            };

            await using var source = new ImapPollingSource(options);
            await using (var running = new RunningSource(source, new CollectingContext()))
            {
                await Eventually.TrueAsync(() => running.Context.Published.Count == 1, $"{security}: the message is read over TLS");
                Assert.True(source.IsConnected);
                await source.OnSucceededAsync(running.Context.Published[0], CancellationToken.None); // the completion connection uses TLS too
            }

            Assert.True(validated >= 2, "both the search and the completion connection validated the server certificate");
            Assert.True((await ImapTestServer.FlagsAsync(folder, port: PlainPort))[uid.Id].Flags!.Value.HasFlag(MailKit.MessageFlags.Seen));
        }
        finally
        {
            await ImapTestServer.RunScriptAsync("stop", env);
        }
    }

    [Fact]
    public async Task A_certificate_that_is_not_trusted_fails_the_connection()
    {
        var dir = Path.Combine(Path.GetTempPath(), "appruntime-dovecot-tls-test");
        var env = new Dictionary<string, string>
        {
            ["APPRUNTIME_DOVECOT_DIR"] = dir,
            ["APPRUNTIME_IMAP_PORT"] = PlainPort.ToString(CultureInfo.InvariantCulture),
            ["APPRUNTIME_IMAPS_PORT"] = ImapsPort.ToString(CultureInfo.InvariantCulture),
            ["APPRUNTIME_DOVECOT_TLS"] = "1",
        };
        await ImapTestServer.RunScriptAsync("start", env);
        try
        {
            // Default validation: the self-signed certificate is not trusted by the system.
            var options = ImapTestServer.Options("INBOX", port: ImapsPort) with { Security = ImapSecurity.SslOnConnect };
            await using var source = new ImapPollingSource(options);
            await using var running = new RunningSource(source, new CollectingContext());
            await Eventually.TrueAsync(() => running.Context.Reports.Any(r => r.Error is not null), "the failed handshake is reported");
            Assert.IsType<MailKit.Security.SslHandshakeException>(running.Context.Reports.First(r => r.Error is not null).Error);
            Assert.Empty(running.Context.Published);
        }
        finally
        {
            await ImapTestServer.RunScriptAsync("stop", env);
        }
    }
}
