using System.Globalization;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AppRuntime.Core.Tests.Config;

public sealed class MailSettings
{
    public required string Host { get; init; }
    public int Port { get; init; }
    public TimeSpan PollInterval { get; init; }

    /// <summary>A hand-written binder of the kind the generator emits: reads values, reports every problem with its key path.</summary>
    public static MailSettings Bind(IConfigurationSection section, ConfigErrors errors)
    {
        var host = section["Host"];
        if (string.IsNullOrWhiteSpace(host))
            errors.Add(section.Path + ":Host", "is required");
        var port = 143;
        if (section["Port"] is { } p && (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            errors.Add(section.Path + ":Port", $"must be a whole number from 1 to 65535 (was '{p}')");
        var interval = TimeSpan.FromSeconds(30);
        if (section["PollInterval"] is { } i && (!TimeSpan.TryParse(i, CultureInfo.InvariantCulture, out interval) || interval <= TimeSpan.Zero))
            errors.Add(section.Path + ":PollInterval", $"must be a positive time span (was '{i}')");
        return new MailSettings { Host = host ?? "", Port = port, PollInterval = interval };
    }
}

public sealed class ConfigurationManagerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("appruntime-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AddMail(IAppRuntimeBuilder b) => b.AddConfigSection(new ConfigSectionDefinition<MailSettings>("Mail", MailSettings.Bind) { SecretKeys = ["Password"] });

    [Fact]
    public async Task Start_reports_every_invalid_value_with_its_key_path()
    {
        await using var rt = new TestRuntime(AddMail, new Dictionary<string, string?>
        {
            ["Mail:Port"] = "99999",
            ["Mail:PollInterval"] = "soon",
        });

        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);

        Assert.Equal(["Mail:Host", "Mail:PollInterval", "Mail:Port"], ex.Errors.Select(e => e.KeyPath).Order(StringComparer.Ordinal));
        Assert.Contains("Mail:Port: must be a whole number from 1 to 65535 (was '99999')", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RuntimeState.Faulted, rt.Runtime.State);
    }

    [Fact]
    public async Task Unknown_queue_backend_and_bad_pool_override_are_reported_with_their_keys()
    {
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("orders", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("orders"));
            b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        }, new Dictionary<string, string?>
        {
            ["AppRuntime:Queues:orders:Backend"] = "Redis",
            ["AppRuntime:Pools:orders:Workers"] = "zero",
        });

        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);

        Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:Queues:orders:Backend" && e.Message.Contains("unknown queue backend 'Redis'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.KeyPath == "AppRuntime:Pools:orders:Workers");
    }

    [Fact]
    public async Task Pool_size_can_be_overridden_by_configuration()
    {
        await using var rt = new TestRuntime(b =>
        {
            b.AddQueue<Job>(new QueueDefinition("orders", "Job"));
            b.AddWorkerPool(new WorkerPoolDefinition("orders") { Workers = 1 });
            b.AddHandler<Job>("orders", _ => new DelegateHandler<Job>((_, _, _) => ValueTask.CompletedTask));
        }, new Dictionary<string, string?> { ["AppRuntime:Pools:orders:Workers"] = "3" });

        await rt.StartAsync();

        Assert.Equal(3, rt.Runtime.Supervisor.GetPool("orders").GetSnapshot().Workers.Count);
    }

    [Fact]
    public async Task Typed_section_is_available_as_value_options_and_monitor()
    {
        await using var rt = new TestRuntime(AddMail, new Dictionary<string, string?> { ["Mail:Host"] = "imap.example", ["Mail:Port"] = "993" });
        await rt.StartAsync();

        Assert.Equal("imap.example", rt.Provider.GetRequiredService<MailSettings>().Host);
        Assert.Equal(993, rt.Provider.GetRequiredService<IOptions<MailSettings>>().Value.Port);
        Assert.Equal(993, rt.Provider.GetRequiredService<IOptionsMonitor<MailSettings>>().CurrentValue.Port);
        Assert.Equal("Mail", rt.Provider.GetRequiredService<IConfigSection<MailSettings>>().Path);
        Assert.Contains("Mail:Password", rt.Config.SecretKeys);
    }

    [Fact]
    public async Task Invalid_reload_is_refused_keeping_the_last_good_config_and_degrading_health_until_fixed()
    {
        var file = Path.Combine(_dir, "app.json");
        await File.WriteAllTextAsync(file, """{ "Mail": { "Host": "a.example", "Port": 143 } }""");
        await using var rt = new TestRuntime(b =>
        {
            b.AddConfigProvider(new JsonFileConfigProvider(file, ConfigLayer.Application, reloadOnChange: false));
            AddMail(b);
        });
        await rt.StartAsync();
        var section = rt.Provider.GetRequiredService<IConfigSection<MailSettings>>();
        var seen = new List<int>();
        using var _ = section.OnChange(s => seen.Add(s.Port));

        await File.WriteAllTextAsync(file, """{ "Mail": { "Host": "", "Port": -1 } }""");
        var refused = rt.Control.ReloadConfiguration().Value!;

        Assert.False(refused.Applied);
        Assert.Equal(2, refused.Errors.Count);
        Assert.Equal("a.example", section.Current.Host);
        Assert.Equal("a.example", rt.Provider.GetRequiredService<MailSettings>().Host);
        Assert.Empty(seen);
        var degraded = await rt.Health.CheckReadinessAsync();
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Contains("Mail:Port", degraded.Entries.Single(e => e.Name == "configuration").Result.Description, StringComparison.Ordinal);

        await File.WriteAllTextAsync(file, """{ "Mail": { "Host": "b.example", "Port": 10143 } }""");
        var applied = rt.Control.ReloadConfiguration().Value!;

        Assert.True(applied.Applied);
        Assert.Equal("b.example", section.Current.Host);
        Assert.Equal([10143], seen);
        Assert.Equal(HealthStatus.Healthy, (await rt.Health.CheckReadinessAsync()).Status);
    }

    [Fact]
    public async Task Json_file_change_is_picked_up_and_subscribers_are_notified()
    {
        var file = Path.Combine(_dir, "watched.json");
        await File.WriteAllTextAsync(file, """{ "Mail": { "Host": "one.example" } }""");
        await using var rt = new TestRuntime(b =>
        {
            b.AddConfigProvider(new JsonFileConfigProvider(file));
            AddMail(b);
        });
        await rt.StartAsync();
        var hosts = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var _ = rt.Provider.GetRequiredService<IConfigSection<MailSettings>>().OnChange(s => hosts.Enqueue(s.Host));

        await File.WriteAllTextAsync(file, """{ "Mail": { "Host": "two.example" } }""");

        await Eventually.TrueAsync(() => hosts.Contains("two.example"), "the file watcher reloads and notifies the subscriber");
        Assert.Equal("two.example", rt.Provider.GetRequiredService<MailSettings>().Host);
    }

    [Fact]
    public void Precedence_is_defaults_platform_application_database_environment_command_line()
    {
        // A section name of its own keeps the process-wide environment variables of this test from touching any other test.
        var p = "Prec" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(Path.Combine(_dir, "appruntime.json"), $$"""{ "{{p}}": { "Platform": "platform", "Application": "platform", "Database": "platform", "Env": "platform", "Cli": "platform" } }""");
        File.WriteAllText(Path.Combine(_dir, "appsettings.json"), $$"""{ "{{p}}": { "Application": "application", "Database": "application", "Env": "application", "Cli": "application" } }""");
        Environment.SetEnvironmentVariable(p + "__Env", "environment");
        Environment.SetEnvironmentVariable(p + "__Cli", "environment");
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _dir, Args = [$"--{p}:Cli=command-line"] });
            var runtime = builder.AddAppRuntime();
            runtime.AddConfigProvider(new MemoryProvider(ConfigLayer.Database, new() { [p + ":Database"] = "database", [p + ":Env"] = "database", [p + ":Cli"] = "database" }));
            runtime.AddConfigProvider(new MemoryProvider(ConfigLayer.Defaults, new() { [p + ":Defaults"] = "defaults", [p + ":Platform"] = "defaults" }));

            var c = builder.Configuration;
            Assert.Equal("defaults", c[p + ":Defaults"]);
            Assert.Equal("platform", c[p + ":Platform"]);
            Assert.Equal("application", c[p + ":Application"]);
            Assert.Equal("database", c[p + ":Database"]);
            Assert.Equal("environment", c[p + ":Env"]);
            Assert.Equal("command-line", c[p + ":Cli"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(p + "__Env", null);
            Environment.SetEnvironmentVariable(p + "__Cli", null);
        }
    }

    private sealed class MemoryProvider(ConfigLayer layer, Dictionary<string, string?> values) : IConfigProvider
    {
        public string Name => "memory:" + layer;
        public ConfigLayer Layer => layer;
        public IConfigurationSource CreateSource() => new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = values };
    }
}
