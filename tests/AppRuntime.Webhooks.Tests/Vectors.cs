namespace AppRuntime.Webhooks.Tests;

/// <summary>
/// Signature test vectors published by the providers (this machine has no network: they are copied here, with where they come from).
/// </summary>
internal static class Vectors
{
    /// <summary>
    /// Standard Webhooks: the "sign function works" test of the reference libraries
    /// (github.com/standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts; the same values are in the Python, Go,
    /// Rust, Java, PHP and C# libraries of that repository).
    /// </summary>
    public static class StandardWebhooks
    {
        public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        public const string MessageId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        public const long Timestamp = 1614265330;
        public const string Payload = "{\"test\": 2432232314}";
        public const string Signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    }

    /// <summary>
    /// GitHub: the example in "Validating webhook deliveries" (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries,
    /// "Testing the webhook payload validation"): secret "It's a Secret to Everybody", payload "Hello, World!".
    /// </summary>
    public static class GitHub
    {
        public const string Secret = "It's a Secret to Everybody";
        public const string Payload = "Hello, World!";
        public const string Signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    }

    /// <summary>
    /// Stripe publishes the scheme ("Verify signatures manually", docs.stripe.com/webhooks#verify-manually: HMAC-SHA256 of
    /// "{t}.{payload}" keyed with the endpoint secret, hex, in <c>v1=</c>) but no fixed vector. This one uses the secret and event
    /// of stripe-python's webhook tests and a timestamp of Stripe's documented example header (t=1492774577); the expected value was
    /// computed independently of this code with
    /// <c>printf '1492774577.{"id":"evt_test_webhook","object":"event"}' | openssl dgst -sha256 -hmac whsec_test_secret</c>.
    /// </summary>
    public static class Stripe
    {
        public const string Secret = "whsec_test_secret";
        public const long Timestamp = 1492774577;
        public const string Payload = "{\"id\":\"evt_test_webhook\",\"object\":\"event\"}";
        public const string Signature = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";
        public static string Header => $"t={Timestamp},v1={Signature}";
    }

    /// <summary>
    /// A custom HMAC (base64, <c>sha256=</c> prefix), computed independently with
    /// <c>printf '{"id":"cst_1","kind":"created"}' | openssl dgst -sha256 -hmac custom-secret-1 -binary | base64</c>.
    /// </summary>
    public static class Custom
    {
        public const string Secret = "custom-secret-1";
        public const string Payload = "{\"id\":\"cst_1\",\"kind\":\"created\"}";
        public const string Signature = "sha256=25rxAxiFD/vvTEhuCbQ44MDguPv03II08cY+/6iTA+o=";
    }
}
