using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace AppRuntime.Tests.Shared;

/// <summary>
/// Builds signed requests the way each provider does, written from the providers' documentation independently of the code under
/// test (and checked against the providers' published vectors in AppRuntime.Webhooks.Tests' SignatureVectorTests). Linked into the test projects that sign.
/// </summary>
internal static class Sign
{
    public static HttpRequestMessage Json(string path, string body, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return request;
    }

    public static string StandardWebhooksSignature(string secret, string id, long timestamp, string body)
    {
        var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret);
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
    }

    public static HttpRequestMessage StandardWebhooks(string path, string secret, string id, long timestamp, string body, string contentType = "application/json")
    {
        var request = Json(path, body, contentType);
        request.Headers.Add("webhook-id", id);
        request.Headers.Add("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("webhook-signature", StandardWebhooksSignature(secret, id, timestamp, body));
        return request;
    }

    public static HttpRequestMessage StandardWebhooksNow(string path, string secret, string id, string body) =>
        StandardWebhooks(path, secret, id, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), body);

    public static string GitHubSignature(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    public static HttpRequestMessage GitHub(string path, string secret, string delivery, string body, string gitHubEvent = "push")
    {
        var request = Json(path, body);
        request.Headers.Add("X-GitHub-Delivery", delivery);
        request.Headers.Add("X-GitHub-Event", gitHubEvent);
        request.Headers.Add("X-Hub-Signature-256", GitHubSignature(secret, body));
        return request;
    }

    public static HttpRequestMessage Stripe(string path, string secret, long timestamp, string body)
    {
        var request = Json(path, body, "application/json; charset=utf-8");
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));
        request.Headers.Add("Stripe-Signature", $"t={timestamp},v1={signature}");
        return request;
    }

    public static HttpRequestMessage Custom(string path, string secret, string body)
    {
        var request = Json(path, body);
        request.Headers.Add("X-Signature", "sha256=" + Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body))));
        return request;
    }
}
