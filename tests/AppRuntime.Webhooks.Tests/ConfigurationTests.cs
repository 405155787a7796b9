using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AppRuntime.Webhooks.Tests;

/// <summary>The webhook settings: checked with every other section at start, secrets never shown, rotation by reload, https.</summary>
public sealed class ConfigurationTests
{
    private static async Task<ConfigValidationException> StartFailsAsync(Dictionary<string, string?> settings)
    {
        var (host, _) = TestHost.Build(new HostOptions { Settings = settings });
        using var _ = host;
        return await Assert.ThrowsAsync<ConfigValidationException>(() => host.StartAsync());
    }

    [Fact]
    public async Task Every_problem_of_the_section_is_reported_at_start_in_one_exception_without_quoting_a_secret()
    {
        var ex = await StartFailsAsync(new()
        {
            ["AppRuntime:Webhooks:Sources:payments:Secrets:0"] = "whsec_not*base64",
            ["AppRuntime:Webhooks:Sources:payments:Secrets:1"] = null,
            ["AppRuntime:Webhooks:Sources:github:Secrets:0"] = null,
            ["AppRuntime:Webhooks:Sources:paymnts:Secrets:0"] = "typo-secret-value",
            ["AppRuntime:Webhooks:Sources:payments:AllowedNetworks:0"] = "not-a-network",
            ["AppRuntime:Webhooks:MaxBodySize"] = "0",
            ["AppRuntime:Webhooks:Urls"] = "https://127.0.0.1:0",
            ["AppRuntime:Webhooks:KnownProxies:0"] = "proxy.example",
        });

        var keys = ex.Errors.Select(e => e.KeyPath).ToList();
        Assert.Contains("AppRuntime:Webhooks:Sources:payments:Secrets:0", keys);
        Assert.Contains("AppRuntime:Webhooks:Sources:github:Secrets", keys);
        Assert.Contains("AppRuntime:Webhooks:Sources:paymnts", keys);
        Assert.Contains("AppRuntime:Webhooks:Sources:payments:AllowedNetworks", keys);
        Assert.Contains("AppRuntime:Webhooks:MaxBodySize", keys);
        Assert.Contains("AppRuntime:Webhooks:Certificate:Path", keys);
        Assert.Contains("AppRuntime:Webhooks:KnownProxies", keys);
        Assert.DoesNotContain("not*base64", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("typo-secret-value", ex.Message, StringComparison.Ordinal);
        var github = ex.Errors.Single(e => e.KeyPath == "AppRuntime:Webhooks:Sources:github:Secrets").Message;
        Assert.Contains("AppRuntime__Webhooks__Sources__github__Secrets__0", github, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retention_window_shorter_than_the_tolerance_is_refused()
    {
        var ex = await StartFailsAsync(new() { ["AppRuntime:Webhooks:Sources:stripe:RetentionWindow"] = "00:01:00" });
        Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:Webhooks:Sources:stripe:RetentionWindow");
    }

    [Fact]
    public async Task Secrets_are_hidden_in_the_configuration_view()
    {
        await using var host = await TestHost.StartAsync();
        var view = host.Get<ControlPlaneService>().GetConfiguration();
        Assert.Equal(ConfigRedaction.Mask, view["AppRuntime:Webhooks:Sources:payments:Secrets:0"]);
        Assert.Equal(ConfigRedaction.Mask, view["AppRuntime:Webhooks:Sources:github:Secrets:0"]);
        Assert.DoesNotContain(view.Values, v => v.Contains(Vectors.GitHub.Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_secret_is_rotated_by_a_configuration_reload_without_a_restart()
    {
        await using var host = await TestHost.StartAsync();
        const string push = """{"ref":"refs/heads/main"}""";
        using var before = await host.SendAsync(Sign.GitHub("/hooks/github", "the-new-secret", "rot-1", push));
        Assert.Equal(401, (int)before.StatusCode);

        // Step 1: add the new secret next to the old one; both are accepted while the provider switches.
        var configuration = host.Get<IConfiguration>();
        configuration["AppRuntime:Webhooks:Sources:github:Secrets:1"] = "the-new-secret";
        Assert.Equal(ControlStatus.Ok, host.Get<ControlPlaneService>().ReloadConfiguration().Status);
        using var both1 = await host.SendAsync(Sign.GitHub("/hooks/github", "the-new-secret", "rot-2", push));
        using var both2 = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "rot-3", push));
        Assert.Equal(202, (int)both1.StatusCode);
        Assert.Equal(202, (int)both2.StatusCode);

        // Step 2: remove the old one.
        configuration["AppRuntime:Webhooks:Sources:github:Secrets:0"] = "the-new-secret";
        configuration["AppRuntime:Webhooks:Sources:github:Secrets:1"] = null;
        Assert.Equal(ControlStatus.Ok, host.Get<ControlPlaneService>().ReloadConfiguration().Status);
        using var old = await host.SendAsync(Sign.GitHub("/hooks/github", Vectors.GitHub.Secret, "rot-4", push));
        using var current = await host.SendAsync(Sign.GitHub("/hooks/github", "the-new-secret", "rot-5", push));
        Assert.Equal(401, (int)old.StatusCode);
        Assert.Equal(202, (int)current.StatusCode);
    }

    [Fact]
    public async Task Https_is_served_with_the_configured_certificate()
    {
        var dir = Directory.CreateTempSubdirectory("appruntime-webhooks-tls");
        try
        {
            var pfx = Path.Combine(dir.FullName, "webhooks.pfx");
            using (var key = RSA.Create(2048))
            {
                var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
                using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "pfx-password"));
            }
            var (host, _) = TestHost.Build(new HostOptions
            {
                Settings =
                {
                    ["AppRuntime:Webhooks:Urls"] = "https://127.0.0.1:0",
                    ["AppRuntime:Webhooks:Certificate:Path"] = pfx,
                    ["AppRuntime:Webhooks:Certificate:Password"] = "pfx-password",
                },
            });
            using var _ = host;
            await host.StartAsync();
            try
            {
                var address = host.Services.GetRequiredService<IWebhookServer>().Addresses.Single();
                Assert.Equal("https", address.Scheme);
                using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=127.0.0.1" };
                using var client = new HttpClient(handler) { BaseAddress = address };
                using var response = await client.SendAsync(Sign.StandardWebhooksNow("/hooks/payments", Vectors.StandardWebhooks.Secret, "msg_tls", """{"test": 1}"""));
                Assert.Equal(202, (int)response.StatusCode);
            }
            finally
            {
                await host.StopAsync();
            }
            Assert.DoesNotContain("pfx-password", string.Join(' ', host.Services.GetRequiredService<ControlPlaneService>().GetConfiguration().Values), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
