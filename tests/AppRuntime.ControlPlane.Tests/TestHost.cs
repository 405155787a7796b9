using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.ControlPlane.Tests;

/// <summary>
/// A real generic host with a runtime composed by hand through <see cref="IAppRuntimeBuilder"/> and the control plane on a free
/// loopback port (port 0), talked to over real HTTP.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    public const string Token = "test-token-0123456789abcdef";

    private TestHost(IHost host, HttpClient client)
    {
        Host = host;
        Client = client;
    }

    public IHost Host { get; }

    public HttpClient Client { get; }

    public Uri BaseAddress => Client.BaseAddress!;

    public ControlPlaneService Control => Host.Services.GetRequiredService<ControlPlaneService>();

    public static IHost Build(Action<IAppRuntimeBuilder>? compose = null, IDictionary<string, string?>? settings = null, Action<ControlPlaneOptions>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        var values = new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Urls"] = "http://127.0.0.1:0",
            ["AppRuntime:ControlPlane:Token"] = Token,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            values[key] = value;
        builder.Configuration.AddInMemoryCollection(values);
        // The IServiceCollection overload: no appruntime.json file layer, so no file watcher per test host (inotify instances are few).
        var runtime = builder.Services.AddAppRuntime(builder.Configuration, o =>
        {
            o.DrainTimeout = TimeSpan.Zero;
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
        });
        (compose ?? Sample.Compose)(runtime);
        runtime.AddControlPlane(configure);
        return builder.Build();
    }

    public static async Task<TestHost> StartAsync(Action<IAppRuntimeBuilder>? compose = null, IDictionary<string, string?>? settings = null, Action<ControlPlaneOptions>? configure = null)
    {
        var host = Build(compose, settings, configure);
        await host.StartAsync();
        var server = host.Services.GetRequiredService<IControlPlaneServer>();
        Assert.True(server.IsRunning);
        var address = Assert.Single(server.Addresses);
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        return new TestHost(host, client);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => Client.GetAsync(path);

    public Task<HttpResponseMessage> PostAsync(string path, string? json = null, string? token = Token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Client.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path} answered {(int)response.StatusCode}: {body}");
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    /// <summary>Asserts an RFC 7807 answer with <paramref name="status"/> and returns its detail.</summary>
    public static async Task<string> AssertProblemAsync(HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(status, doc.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("title").GetString()));
        return doc.RootElement.GetProperty("detail").GetString() ?? "";
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await Host.StopAsync(cts.Token);
        }
        finally
        {
            Host.Dispose();
        }
    }
}
