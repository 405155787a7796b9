using System.Text;
using AppRuntime.Internal;
using Microsoft.AspNetCore.Http;

namespace AppRuntime.Webhooks.Tests;

/// <summary>Each scheme against the providers' vectors, at the level of the verifier (the HTTP tests send the same requests).</summary>
public sealed class SignatureVectorTests
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    private static SignatureCheck Verify(WebhookSourceDefinition definition, HeaderDictionary headers, string body, DateTimeOffset now, params string[] secrets)
    {
        var scheme = SignatureScheme.For(definition);
        return scheme.Verify(headers, Encoding.UTF8.GetBytes(body), [.. secrets.Select(scheme.KeyOf)], now, Tolerance);
    }

    private static HeaderDictionary StandardHeaders(string signature, long timestamp = Vectors.StandardWebhooks.Timestamp, string id = Vectors.StandardWebhooks.MessageId) => new()
    {
        ["webhook-id"] = id,
        ["webhook-timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["webhook-signature"] = signature,
    };

    private static readonly WebhookSourceDefinition Standard = new("s", "q", "/s");
    private static readonly DateTimeOffset StandardNow = DateTimeOffset.FromUnixTimeSeconds(Vectors.StandardWebhooks.Timestamp + 10);

    [Fact]
    public void The_test_signer_reproduces_the_Standard_Webhooks_vector() =>
        Assert.Equal(Vectors.StandardWebhooks.Signature, Sign.StandardWebhooksSignature(Vectors.StandardWebhooks.Secret, Vectors.StandardWebhooks.MessageId,
            Vectors.StandardWebhooks.Timestamp, Vectors.StandardWebhooks.Payload));

    [Fact]
    public void Standard_Webhooks_vector_is_valid_with_and_without_the_whsec_prefix()
    {
        Assert.Equal(SignatureCheck.Valid, Verify(Standard, StandardHeaders(Vectors.StandardWebhooks.Signature), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
        Assert.Equal(SignatureCheck.Valid, Verify(Standard, StandardHeaders(Vectors.StandardWebhooks.Signature), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret[6..]));
    }

    [Fact]
    public void Standard_Webhooks_accepts_a_list_of_signatures_with_one_valid_and_refuses_other_versions()
    {
        var bogus = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        var list = $"{bogus} v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= {Vectors.StandardWebhooks.Signature} {bogus}";
        Assert.Equal(SignatureCheck.Valid, Verify(Standard, StandardHeaders(list), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
        var v2Only = "v2," + Vectors.StandardWebhooks.Signature[3..];
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, StandardHeaders(v2Only), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
    }

    [Theory]
    [InlineData("v1,dawfeoifkpqwoekfpqoekf")]
    [InlineData("v1,")]
    [InlineData("v1,g0hM9SsE")]
    [InlineData("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    public void Standard_Webhooks_refuses_invalid_and_partial_signatures(string signature) =>
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, StandardHeaders(signature), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));

    [Fact]
    public void Standard_Webhooks_refuses_a_changed_body_id_or_timestamp()
    {
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, StandardHeaders(Vectors.StandardWebhooks.Signature), "{\"test\": 2432232315}", StandardNow, Vectors.StandardWebhooks.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, StandardHeaders(Vectors.StandardWebhooks.Signature, id: "msg_other"), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, StandardHeaders(Vectors.StandardWebhooks.Signature, Vectors.StandardWebhooks.Timestamp + 1), Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
    }

    [Fact]
    public void Standard_Webhooks_timestamps_outside_the_tolerance_either_way_are_stale()
    {
        var headers = StandardHeaders(Vectors.StandardWebhooks.Signature);
        Assert.Equal(SignatureCheck.Stale, Verify(Standard, headers, Vectors.StandardWebhooks.Payload, StandardNow + Tolerance, Vectors.StandardWebhooks.Secret));
        Assert.Equal(SignatureCheck.Stale, Verify(Standard, headers, Vectors.StandardWebhooks.Payload, StandardNow - Tolerance - TimeSpan.FromSeconds(20), Vectors.StandardWebhooks.Secret));
        Assert.Equal(SignatureCheck.Valid, Verify(Standard, headers, Vectors.StandardWebhooks.Payload, DateTimeOffset.FromUnixTimeSeconds(Vectors.StandardWebhooks.Timestamp) + Tolerance, Vectors.StandardWebhooks.Secret));
    }

    [Fact]
    public void Standard_Webhooks_missing_headers_or_a_timestamp_that_is_no_number()
    {
        foreach (var header in new[] { "webhook-id", "webhook-timestamp", "webhook-signature" })
        {
            var headers = StandardHeaders(Vectors.StandardWebhooks.Signature);
            headers.Remove(header);
            Assert.Equal(SignatureCheck.Missing, Verify(Standard, headers, Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
        }
        var hello = StandardHeaders(Vectors.StandardWebhooks.Signature);
        hello["webhook-timestamp"] = "hello";
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, hello, Vectors.StandardWebhooks.Payload, StandardNow, Vectors.StandardWebhooks.Secret));
    }

    [Fact]
    public void Any_of_several_secrets_verifies_so_a_secret_can_be_rotated()
    {
        var headers = StandardHeaders(Vectors.StandardWebhooks.Signature);
        Assert.Equal(SignatureCheck.Valid, Verify(Standard, headers, Vectors.StandardWebhooks.Payload, StandardNow, TestHost.PaymentsSecret2, Vectors.StandardWebhooks.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(Standard, headers, Vectors.StandardWebhooks.Payload, StandardNow, TestHost.PaymentsSecret2));
    }

    [Theory]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_c2hvcnQ=")]
    public void A_Standard_Webhooks_secret_that_is_not_a_key_is_refused_without_quoting_it(string secret)
    {
        var ex = Assert.Throws<FormatException>(() => SignatureScheme.For(Standard).KeyOf(secret));
        Assert.DoesNotContain(secret, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GitHub_vector_from_the_documentation_is_valid()
    {
        var github = new WebhookSourceDefinition("g", "q", "/g") { Signature = WebhookSignature.GitHub };
        Assert.Equal(Vectors.GitHub.Signature, Sign.GitHubSignature(Vectors.GitHub.Secret, Vectors.GitHub.Payload));
        Assert.Equal(SignatureCheck.Valid, Verify(github, new HeaderDictionary { ["X-Hub-Signature-256"] = Vectors.GitHub.Signature }, Vectors.GitHub.Payload, DateTimeOffset.UtcNow, Vectors.GitHub.Secret));
        Assert.Equal(SignatureCheck.Valid, Verify(github, new HeaderDictionary { ["X-Hub-Signature-256"] = Vectors.GitHub.Signature.ToUpperInvariant().Replace("SHA256=", "sha256=", StringComparison.Ordinal) },
            Vectors.GitHub.Payload, DateTimeOffset.UtcNow, Vectors.GitHub.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(github, new HeaderDictionary { ["X-Hub-Signature-256"] = Vectors.GitHub.Signature }, "Hello, World?", DateTimeOffset.UtcNow, Vectors.GitHub.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(github, new HeaderDictionary { ["X-Hub-Signature-256"] = Vectors.GitHub.Signature[7..] }, Vectors.GitHub.Payload, DateTimeOffset.UtcNow, Vectors.GitHub.Secret));
        Assert.Equal(SignatureCheck.Missing, Verify(github, new HeaderDictionary { ["X-Hub-Signature"] = Vectors.GitHub.Signature }, Vectors.GitHub.Payload, DateTimeOffset.UtcNow, Vectors.GitHub.Secret));
    }

    [Fact]
    public void Stripe_vector_is_valid_within_the_tolerance_and_stale_outside_it()
    {
        var stripe = new WebhookSourceDefinition("st", "q", "/st") { Signature = WebhookSignature.Stripe };
        var now = DateTimeOffset.FromUnixTimeSeconds(Vectors.Stripe.Timestamp + 30);
        Assert.Equal(SignatureCheck.Valid, Verify(stripe, new HeaderDictionary { ["Stripe-Signature"] = Vectors.Stripe.Header }, Vectors.Stripe.Payload, now, Vectors.Stripe.Secret));
        // Several v1 signatures (Stripe sends one per active secret while one is rolled) and a v0 that does not count.
        var rolled = $"t={Vectors.Stripe.Timestamp},v1={new string('0', 64)},v1={Vectors.Stripe.Signature},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39";
        Assert.Equal(SignatureCheck.Valid, Verify(stripe, new HeaderDictionary { ["Stripe-Signature"] = rolled }, Vectors.Stripe.Payload, now, Vectors.Stripe.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(stripe, new HeaderDictionary { ["Stripe-Signature"] = $"t={Vectors.Stripe.Timestamp},v0={Vectors.Stripe.Signature}" }, Vectors.Stripe.Payload, now, Vectors.Stripe.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(stripe, new HeaderDictionary { ["Stripe-Signature"] = $"t={Vectors.Stripe.Timestamp + 1},v1={Vectors.Stripe.Signature}" }, Vectors.Stripe.Payload, now, Vectors.Stripe.Secret));
        Assert.Equal(SignatureCheck.Stale, Verify(stripe, new HeaderDictionary { ["Stripe-Signature"] = Vectors.Stripe.Header }, Vectors.Stripe.Payload, now + Tolerance, Vectors.Stripe.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(stripe, new HeaderDictionary { ["Stripe-Signature"] = $"v1={Vectors.Stripe.Signature}" }, Vectors.Stripe.Payload, now, Vectors.Stripe.Secret));
    }

    [Fact]
    public void Custom_hmac_in_base64_and_hex_with_and_without_a_prefix()
    {
        var base64 = new WebhookSourceDefinition("c", "q", "/c")
        {
            Signature = WebhookSignature.Hmac, SignatureHeader = "X-Signature", SignatureEncoding = WebhookSignatureEncoding.Base64, SignaturePrefix = "sha256=",
        };
        Assert.Equal(SignatureCheck.Valid, Verify(base64, new HeaderDictionary { ["X-Signature"] = Vectors.Custom.Signature }, Vectors.Custom.Payload, DateTimeOffset.UtcNow, Vectors.Custom.Secret));
        Assert.Equal(SignatureCheck.Invalid, Verify(base64, new HeaderDictionary { ["X-Signature"] = Vectors.Custom.Signature[7..] }, Vectors.Custom.Payload, DateTimeOffset.UtcNow, Vectors.Custom.Secret));

        var hex = new WebhookSourceDefinition("h", "q", "/h") { Signature = WebhookSignature.Hmac, SignatureHeader = "X-Sig" };
        var hexSignature = Convert.ToHexString(Convert.FromBase64String(Vectors.Custom.Signature[7..]));
        Assert.Equal(SignatureCheck.Valid, Verify(hex, new HeaderDictionary { ["X-Sig"] = hexSignature }, Vectors.Custom.Payload, DateTimeOffset.UtcNow, Vectors.Custom.Secret));
        Assert.Equal(SignatureCheck.Missing, Verify(hex, new HeaderDictionary(), Vectors.Custom.Payload, DateTimeOffset.UtcNow, Vectors.Custom.Secret));
    }
}
