using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// Throws malformed input at a running control plane: bad JSON, random bytes, huge bodies, odd paths, wrong methods and broken
/// HTTP. Every answer must be a 4xx (never a 5xx, never a dropped connection for a well-formed request), and the server must be
/// healthy and fully working afterwards.
/// </summary>
public sealed class FuzzTests
{
    private static readonly string[] AdminPaths =
    [
        "/api/sources/order-feed/pause", "/api/pools/orders/scale", "/api/deadletters/orders/retry", "/api/deadletters/orders/purge",
    ];

    private static readonly string[] OddPaths =
    [
        "/api/sources/a%2Fb/pause", "/api/sources/..%2F..%2Fetc%2Fpasswd/pause", "/api/pools/%2e%2e/scale", "/api/sources/%00/pause",
        "/api/sources/%ZZ/pause", "/api/sources/" + new string('x', 4000) + "/pause", "/api/pools/" + new string('p', 101) + "/pause",
        "/api/sources/%E2%98%83/pause", "/api/sources/\u00e9t\u00e9/resume", "/api/pools/\u6c34/pause", "/api/deadletters/%F0%9F%92%A5/retry",
        "/api/deadletters/%C0%AF/purge", "/api/sources//pause", "/api/sources/order-feed/pause/extra", "/api/sources/order-feed/PAUSE/..",
        "/api/pools/orders/scale%20", "/api/pools/orders%3Bdrop/scale", "/api/pools/%20orders/pause", "/api/pools/orders/pause%3Fx=1",
    ];

    private static readonly string[] BadBodies =
    [
        "{", "}", "[", "{\"workers\":", "{\"workers\":3", "{\"workers\":3}}", "{'workers':3}", "{\"workers\":NaN}", "{\"workers\":Infinity}",
        "{\"workers\":99999999999999999999}", "{\"workers\":true}", "{\"workers\":{}}", "{\"workers\":[3]}", "{\"workers\":null}",
        "{\"ids\":{}}", "{\"ids\":[[]]}", "{\"ids\":[\"a\",]}", "\"just a string\"", "42", "true", "\u0000", "{\"workers\":3,\"workers\":4,\"x\":1}",
        new string('[', 5000) + new string(']', 5000), "{\"ids\":[\"" + new string('i', 600) + "\"]}", "/* comment */ {\"workers\":2}",
        "{\"workers\":\"\ud800\"}",
    ];

    [Fact]
    public async Task Malformed_requests_get_4xx_answers_and_the_server_stays_healthy()
    {
        await using var host = await TestHost.StartAsync();
        var random = new Random(20261130);
        var answers = new List<(string What, int Status)>();

        async Task Send(string what, HttpMethod method, string path, HttpContent? content, bool auth = true)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            if (auth)
                request.Headers.Authorization = new("Bearer", TestHost.Token);
            try
            {
                using var response = await host.Client.SendAsync(request);
                answers.Add((what + " " + method + " " + Shorten(path), (int)response.StatusCode));
            }
            catch (HttpRequestException ex)
            {
                answers.Add((what + " " + method + " " + Shorten(path) + " -> " + ex.InnerException?.Message, 0));
            }
        }

        foreach (var path in AdminPaths)
        {
            foreach (var body in BadBodies)
                await Send("bad json " + Shorten(body), HttpMethod.Post, path, new StringContent(body, Encoding.UTF8, "application/json"));
            for (var i = 0; i < 10; i++)
            {
                var bytes = new byte[random.Next(1, 3000)];
                random.NextBytes(bytes);
                bytes[0] = (byte)'{'; // never accidentally empty/valid
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new("application/json");
                await Send("random bytes", HttpMethod.Post, path, content);
            }
            var invalidUtf8 = new ByteArrayContent([(byte)'{', (byte)'"', (byte)'i', (byte)'d', (byte)'s', (byte)'"', (byte)':', (byte)'[', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)']', (byte)'}']);
            invalidUtf8.Headers.ContentType = new("application/json");
            await Send("invalid utf-8", HttpMethod.Post, "/api/deadletters/orders/retry", invalidUtf8);

            var huge = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"workers\":" + new string('1', 2 * 1024 * 1024) + "}"));
            huge.Headers.ContentType = new("application/json");
            await Send("2 MiB body", HttpMethod.Post, path, huge);
            await Send("chunked 1 MiB body", HttpMethod.Post, path, new ChunkedContent(1024 * 1024));
            await Send("wrong content type", HttpMethod.Post, path, new StringContent("<xml/>", Encoding.UTF8, "application/xml"));
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Head, HttpMethod.Options, new HttpMethod("BREW") })
                await Send("wrong method", method, path, null);
            await Send("no token", HttpMethod.Post, path, new StringContent("{\"workers\":2}", Encoding.UTF8, "application/json"), auth: false);
        }

        foreach (var path in OddPaths)
        {
            await Send("odd path", HttpMethod.Post, path, null);
            await Send("odd path", HttpMethod.Get, path, null);
        }
        foreach (var path in new[] { "/api/deadletters/%2F", "/api/deadletters/" + new string('q', 3000), "/api/deadletters/orders?max=-1", "/api/deadletters/orders?max=abc",
            "/api/deadletters/orders?max=1&max=2", "/api/traces/recent?max=99999999999", "/api/topology?format=svg", "/health/%2F", "/api", "/api/", "/favicon.ico",
            "/api/status/extra", "/../../etc/passwd", "/%", "/index.html" })
            await Send("odd read", HttpMethod.Get, path, null);

        // Broken HTTP straight over a socket: Kestrel itself must answer 4xx, not drop or 5xx.
        var raw = new (string What, byte[] Request)[]
        {
            ("bad request line", Encoding.ASCII.GetBytes("GARBAGE\r\n\r\n")),
            ("control char in path", Encoding.ASCII.GetBytes("GET /api/\u0001status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")),
            ("raw utf-8 in path", [.. Encoding.ASCII.GetBytes("GET /api/sources/"), 0xE2, 0x98, 0x83, .. Encoding.ASCII.GetBytes("/pause HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")]),
            ("16 KiB request line", Encoding.ASCII.GetBytes("GET /api/" + new string('a', 16 * 1024) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")),
            ("64 KiB header", Encoding.ASCII.GetBytes("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + new string('b', 64 * 1024) + "\r\n\r\n")),
            ("no host header", Encoding.ASCII.GetBytes("GET /api/status HTTP/1.1\r\n\r\n")),
            ("content-length lies", Encoding.ASCII.GetBytes("POST /api/pools/orders/scale HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TestHost.Token + "\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}")),
            ("huge content-length", Encoding.ASCII.GetBytes("POST /api/pools/orders/scale HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TestHost.Token + "\r\nContent-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}")),
            ("http/0.9", Encoding.ASCII.GetBytes("GET /\r\n\r\n")),
        };
        foreach (var (what, request) in raw)
            answers.Add((what, await RawStatusAsync(host.BaseAddress, request)));

        var failures = answers.Where(a => a.Status is < 400 or >= 500).ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of {answers.Count} answers were not 4xx:\n" + string.Join('\n', failures.Select(f => $"{f.Status} {f.What}")));
        Assert.True(answers.Count > 200, $"only {answers.Count} requests were sent");

        // Still healthy and fully working.
        using var live = await host.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var ready = await host.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var scale = await host.PostAsync("/api/pools/orders/scale", """{"workers":2}""");
        Assert.Equal(HttpStatusCode.OK, scale.StatusCode);
        var status = await host.GetJsonAsync("/api/status");
        Assert.Equal("Running", status.GetProperty("state").GetString());
        Assert.All(status.GetProperty("sources").EnumerateArray(), s => Assert.False(s.GetProperty("paused").GetBoolean()));
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..60] + "…";

    /// <summary>Sends raw bytes and returns the status code of the answer (0 when the server closed without one).</summary>
    private static async Task<int> RawStatusAsync(Uri address, byte[] request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request);
            await stream.FlushAsync();
        }
        catch (IOException)
        {
            // The server may answer and close before the whole request is written (oversized headers); read the answer anyway.
        }
        var buffer = new byte[1024];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            while (read < 12)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
                if (n == 0)
                    break;
                read += n;
            }
        }
        catch (IOException)
        {
        }
        var head = Encoding.ASCII.GetString(buffer, 0, read);
        return head.StartsWith("HTTP/1.", StringComparison.Ordinal) && head.Length >= 12 && int.TryParse(head.AsSpan(9, 3), out var status) ? status : 0;
    }

    /// <summary>A body of unknown length (sent chunked).</summary>
    private sealed class ChunkedContent(int size) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = Encoding.ASCII.GetBytes("[" + new string('1', 8190) + "]");
            for (var sent = 0; sent < size; sent += chunk.Length)
                await stream.WriteAsync(chunk);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
