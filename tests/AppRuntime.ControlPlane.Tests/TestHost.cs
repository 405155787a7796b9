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

    public static IHost Build(Action<IAppRuntimeBuilder>? compose = null, IDictionary<string, string?>? settings = null, Action<ControlPlaneOptions>? configure = null,
        TimeProvider? controlPlaneTime = null, bool identities = true)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        var values = new Dictionary<string, string?>
        {
            ["AppRuntime:ControlPlane:Urls"] = "http://127.0.0.1:0",
            ["AppRuntime:ControlPlane:Token"] = Token,
        };
        if (identities)
        {
            foreach (var (key, value) in Identities.Settings)
                values[key] = value;
        }
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
        if (controlPlaneTime is not null)
            ((AppRuntime.Internal.ControlPlaneRegistration)builder.Services.Single(d => d.ServiceType == typeof(AppRuntime.Internal.ControlPlaneRegistration)).ImplementationInstance!).Time = controlPlaneTime;
        return builder.Build();
    }

    public static async Task<TestHost> StartAsync(Action<IAppRuntimeBuilder>? compose = null, IDictionary<string, string?>? settings = null, Action<ControlPlaneOptions>? configure = null,
        TimeProvider? controlPlaneTime = null, bool identities = true)
    {
        var host = Build(compose, settings, configure, controlPlaneTime, identities);
        await host.StartAsync();
        var server = host.Services.GetRequiredService<IControlPlaneServer>();
        Assert.True(server.IsRunning);
        var address = Assert.Single(server.Addresses);
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        return new TestHost(host, client);
    }

    /// <summary>A GET with <paramref name="token"/> as bearer (the deprecated admin token by default; null: anonymous).</summary>
    public Task<HttpResponseMessage> GetAsync(string path, string? token = Token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Client.SendAsync(request);
    }

    /// <summary>Signs <paramref name="user"/> in like the login page does and returns a client that carries the session cookie.</summary>
    public Task<SessionClient> SignInAsync(string user) => SessionClient.SignInAsync(BaseAddress, user, Identities.Password(user));

    /// <summary>Appends a configuration value and reloads (the control plane reads users, keys and roles at each request).</summary>
    public void Reconfigure(string key, string? value)
    {
        var config = (IConfigurationRoot)Host.Services.GetRequiredService<IConfiguration>();
        config[key] = value;
        var result = Control.ReloadConfiguration();
        Assert.True(result.Succeeded, "the reload was refused: " + string.Join("; ", result.ConfigErrors?.Select(e => e.KeyPath + ": " + e.Message) ?? []));
    }

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

    public async Task<JsonElement> GetJsonAsync(string path, string? token = Token)
    {
        using var response = await GetAsync(path, token);
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
