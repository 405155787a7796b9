using AppRuntime.Configuration.Tests;
using AppRuntime.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Configuration.PostgreSql.Tests;

/// <summary>The PostgreSQL provider against the real server of tests/infra/postgres.sh.</summary>
[Trait("Category", "Integration")]
public sealed class PostgreSqlConfigProviderIntegrationTests : IAsyncLifetime
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Hours = TimeSpan.FromHours(6);
    private readonly FakeTimeProvider _time = new();
    private PostgresDb _db = null!;

    public async Task InitializeAsync() => _db = await PostgresDb.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private ConfigRuntime PollingRuntime(Action<IAppRuntimeBuilder>? compose = null, CapturingLoggerFactory? logs = null) => new(b =>
    {
        b.AddPostgreSqlConfiguration(_db.ConnectionString, o =>
        {
            o.TableName = _db.Table;
            o.ListenForNotifications = false;
            o.PollInterval = Poll;
            o.TimeProvider = _time;
            if (logs is not null)
                o.LoggerFactory = logs;
        });
        compose?.Invoke(b);
    }, _time);

    /// <summary>A runtime whose only way to see a change is NOTIFY: the poll interval is hours on a clock that never moves.</summary>
    private (ConfigRuntime Runtime, PostgreSqlConfigProvider Provider) ListeningRuntime(TimeSpan? reconnectDelay = null)
    {
        var provider = _db.Provider(o =>
        {
            o.PollInterval = Hours;
            o.TimeProvider = _time;
            o.ReconnectDelay = reconnectDelay ?? TimeSpan.FromSeconds(5);
        });
        return (new ConfigRuntime(b => b.AddConfigProvider(provider), _time), provider);
    }

    [Fact]
    public async Task An_update_in_the_database_reaches_a_subscriber_at_the_next_poll()
    {
        await _db.SetAsync("Shop:Host", "one.example");
        var logs = new CapturingLoggerFactory();
        await using var rt = PollingRuntime(logs: logs);
        await rt.StartAsync();
        var seen = new List<string>();
        using var _ = rt.Shop.OnChange(s => seen.Add(s.Host));

        await _db.ExecuteAsync($"""UPDATE "{_db.Table}" SET value = 'two.example' WHERE key = 'Shop:Host'""");
        _time.Advance(Poll - TimeSpan.FromMilliseconds(1));
        Assert.Empty(seen);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(["two.example"], seen);
        Assert.Equal("two.example", rt.Shop.Current.Host);
        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains(".example", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_notification_delivers_a_change_long_before_the_poll_interval()
    {
        await _db.SetAsync("Shop:Host", "start.example");
        var (rt, provider) = ListeningRuntime();
        await using var _ = rt;
        await rt.StartAsync();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var __ = rt.Shop.OnChange(s => seen.Enqueue(s.Host));
        await Eventually.TrueAsync(() => provider.IsListening, "the provider listens", TimeSpan.FromSeconds(20));

        // The first change may also be found by the check made right after LISTEN; the second can only come by NOTIFY.
        await _db.SetAsync("Shop:Host", "first.example");
        await Eventually.TrueAsync(() => seen.Contains("first.example"), "the first change arrives", TimeSpan.FromSeconds(20));
        await _db.SetAsync("Shop:Host", "second.example");

        await Eventually.TrueAsync(() => seen.Contains("second.example"), "NOTIFY delivers the change while the poll is hours away", TimeSpan.FromSeconds(20));
        Assert.Equal("second.example", rt.Shop.Current.Host);
        Assert.Equal(TimeSpan.Zero, _time.GetUtcNow() - _time.Start);
    }

    [Fact]
    public async Task Several_instances_sharing_one_table_all_see_a_change()
    {
        await _db.SetAsync("Shop:Host", "shared.example");
        var (a, providerA) = ListeningRuntime();
        var (b, providerB) = ListeningRuntime();
        await using var _ = a;
        await using var __ = b;
        await a.StartAsync();
        await b.StartAsync();
        await Eventually.TrueAsync(() => providerA.IsListening && providerB.IsListening, "both instances listen", TimeSpan.FromSeconds(20));

        await _db.SetAsync("Shop:Port", "9443");

        await Eventually.TrueAsync(() => a.Shop.Current.Port == 9443 && b.Shop.Current.Port == 9443, "both instances apply the change", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task An_invalid_database_value_is_refused_keeping_the_last_good_config_with_health_degraded_until_fixed()
    {
        await _db.SetAsync("Shop:Host", "good.example");
        await _db.SetAsync("Shop:Workers", "4");
        var (rt, provider) = ListeningRuntime();
        await using var _ = rt;
        await rt.StartAsync();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<int>();
        using var __ = rt.Shop.OnChange(s => seen.Enqueue(s.Workers));
        await Eventually.TrueAsync(() => provider.IsListening, "the provider listens", TimeSpan.FromSeconds(20));

        await _db.SetAsync("Shop:Workers", "0");
        await Eventually.TrueAsync(() => rt.Config.LastReloadErrors.Count > 0, "the invalid reload is refused", TimeSpan.FromSeconds(20));

        Assert.Empty(seen);
        Assert.Equal(4, rt.Shop.Current.Workers);
        var entry = await rt.HealthOfAsync("configuration");
        Assert.Equal(HealthStatus.Degraded, entry.Result.Status);
        Assert.Contains("Shop:Workers: must be a whole number from 1 to 64 (was '0')", entry.Result.Description, StringComparison.Ordinal);

        await _db.SetAsync("Shop:Workers", "6");
        await Eventually.TrueAsync(() => seen.Contains(6), "the fixed value is applied", TimeSpan.FromSeconds(20));
        Assert.Equal(HealthStatus.Healthy, (await rt.Health.CheckReadinessAsync()).Status);
    }

    [Fact]
    public async Task A_start_with_three_invalid_database_values_lists_all_three_key_paths()
    {
        await _db.SetAsync("Shop:Host", "");
        await _db.SetAsync("Shop:Port", "http");
        await _db.SetAsync("Shop:Password", "short");
        await using var rt = PollingRuntime();

        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);

        Assert.Equal(["Shop:Host", "Shop:Password", "Shop:Port"], ex.Errors.Select(e => e.KeyPath).Order(StringComparer.Ordinal));
        Assert.Contains("Shop:Port: must be a whole number from 1 to 65535 (was 'http')", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defaults_platform_file_application_file_database_environment_command_line_each_override_the_one_before()
    {
        var dir = Directory.CreateTempSubdirectory("appruntime-pg-precedence-").FullName;
        var envPrefix = "APPRT_" + Guid.NewGuid().ToString("N")[..8] + "_";
        try
        {
            var platform = Path.Combine(dir, "appruntime.json");
            var application = Path.Combine(dir, "appsettings.json");
            await File.WriteAllTextAsync(platform, """{ "L": { "Platform": "platform", "Application": "platform", "Database": "platform", "Environment": "platform", "CommandLine": "platform" } }""");
            await File.WriteAllTextAsync(application, """{ "L": { "Application": "application", "Database": "application", "Environment": "application", "CommandLine": "application" } }""");
            foreach (var key in new[] { "Database", "Environment", "CommandLine" })
                await _db.SetAsync("L:" + key, "database");
            Environment.SetEnvironmentVariable(envPrefix + "L__Environment", "environment");
            Environment.SetEnvironmentVariable(envPrefix + "L__CommandLine", "environment");
            var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
            configuration.AddEnvironmentVariables(envPrefix);
            configuration.AddCommandLine(["--L:CommandLine=commandline"]);
            await using var rt = new ConfigRuntime(b =>
            {
                b.AddPostgreSqlConfiguration(_db.ConnectionString, o =>
                {
                    o.TableName = _db.Table;
                    o.TimeProvider = _time;
                    o.ListenForNotifications = false;
                });
                b.AddConfigProvider(new JsonFileConfigProvider(application, ConfigLayer.Application, reloadOnChange: false));
                b.AddConfigProvider(new JsonFileConfigProvider(platform, ConfigLayer.Platform, reloadOnChange: false));
                b.AddConfigProvider(new MemoryConfigProvider(ConfigLayer.Defaults, new()
                {
                    ["L:Defaults"] = "defaults", ["L:Platform"] = "defaults", ["L:Database"] = "defaults", ["Shop:Host"] = "defaults.example",
                }));
            }, _time, configuration);
            await rt.StartAsync();

            foreach (var layer in new[] { "Defaults", "Platform", "Application", "Database", "Environment", "CommandLine" })
                Assert.Equal(layer.ToLowerInvariant(), rt.Configuration["L:" + layer]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(envPrefix + "L__Environment", null);
            Environment.SetEnvironmentVariable(envPrefix + "L__CommandLine", null);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_broken_listen_connection_is_reopened_and_notifications_resume()
    {
        await _db.SetAsync("Shop:Host", "before.example");
        var (rt, provider) = ListeningRuntime(reconnectDelay: TimeSpan.Zero);
        await using var _ = rt;
        await rt.StartAsync();
        await Eventually.TrueAsync(() => provider.IsListening, "the provider listens", TimeSpan.FromSeconds(20));

        await _db.ExecuteAsync($"""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query = 'LISTEN "{_db.Table}" ' AND pid <> pg_backend_pid()
            """);
        await _db.SetAsync("Shop:Host", "during.example");
        await Eventually.TrueAsync(() => rt.Shop.Current.Host == "during.example", "the change made while reconnecting is found", TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(() => provider.IsListening, "the provider listens again", TimeSpan.FromSeconds(20));
        await _db.SetAsync("Shop:Host", "after.example");

        await Eventually.TrueAsync(() => rt.Shop.Current.Host == "after.example", "NOTIFY works on the new connection", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_database_that_fails_at_run_time_keeps_the_last_values_degrades_health_and_recovers()
    {
        await _db.SetAsync("Shop:Host", "kept.example");
        await using var rt = PollingRuntime();
        await rt.StartAsync();

        await _db.ExecuteAsync($"""ALTER TABLE "{_db.Table}_version" RENAME TO "{_db.Table}_moved" """);
        _time.Advance(Poll);

        Assert.Equal("kept.example", rt.Shop.Current.Host);
        var degraded = await rt.HealthOfAsync("configuration-postgresql");
        Assert.Equal(HealthStatus.Degraded, degraded.Result.Status);
        Assert.Contains("does not exist", degraded.Result.Description, StringComparison.Ordinal);

        await _db.ExecuteAsync($"""ALTER TABLE "{_db.Table}_moved" RENAME TO "{_db.Table}_version" """);
        await _db.SetAsync("Shop:Host", "back.example");
        _time.Advance(Poll);

        Assert.Equal("back.example", rt.Shop.Current.Host);
        Assert.Equal(HealthStatus.Healthy, (await rt.HealthOfAsync("configuration-postgresql")).Result.Status);
    }

    [Fact]
    public async Task The_health_of_a_failing_provider_never_shows_its_ssl_password()
    {
        // "SSL Password" (Npgsql's password of the client certificate's key) is unused without a client certificate, so the
        // connection works; it must still never be shown by the unauthenticated health report.
        var connectionString = _db.ConnectionString + ";SSL Password=ssl-secret-value-1;Password=pg-secret-value-2";
        await _db.SetAsync("Shop:Host", "kept.example");
        await using var rt = new ConfigRuntime(b => b.AddPostgreSqlConfiguration(connectionString, o =>
        {
            o.TableName = _db.Table;
            o.ListenForNotifications = false;
            o.PollInterval = Poll;
            o.TimeProvider = _time;
        }), _time);
        await rt.StartAsync();

        await _db.ExecuteAsync($"""ALTER TABLE "{_db.Table}_version" RENAME TO "{_db.Table}_moved" """);
        _time.Advance(Poll);

        var report = await rt.Health.CheckAsync();
        var entry = report.Entries.Single(e => e.Name == "configuration-postgresql");
        Assert.Equal(HealthStatus.Degraded, entry.Result.Status);
        Assert.Contains("SSL Password=***", entry.Result.Description, StringComparison.Ordinal);
        var everything = string.Join("\n", report.Entries.Select(e => e.Result.Description + " " + string.Join(" ", e.Result.Data?.Values ?? [])));
        Assert.DoesNotContain("ssl-secret-value-1", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret-value-2", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_setup_is_idempotent_even_when_instances_run_it_at_once()
    {
        await using var fresh = await PostgresDb.CreateAsync(createSchema: false);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => fresh.Provider().EnsureSchemaAsync(CancellationToken.None)));
        await fresh.Provider().EnsureSchemaAsync(CancellationToken.None);

        Assert.Equal(1, await fresh.ScalarAsync($"""SELECT count(*) FROM pg_trigger WHERE tgrelid = '"{fresh.Table}"'::regclass AND NOT tgisinternal"""));
        // Plain statements, as an operator would write them: each moves the counter; a row carries the counter of its last change.
        await fresh.ExecuteAsync($"""INSERT INTO "{fresh.Table}" (key, value) VALUES ('a', '1'), ('b', '1')""");
        await fresh.ExecuteAsync($"""UPDATE "{fresh.Table}" SET value = '2' WHERE key = 'a'""");
        Assert.Equal(3, await fresh.ScalarAsync($"""SELECT version FROM "{fresh.Table}" WHERE key = 'a'"""));
        await fresh.DeleteAsync("b");
        Assert.Equal(4, await fresh.ScalarAsync($"""SELECT version FROM "{fresh.Table}_version" WHERE id = 1"""));
    }
}
