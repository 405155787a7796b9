using AppRuntime.Configuration.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Configuration.Sqlite.Tests;

public sealed class SqliteConfigProviderTests : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);
    private readonly SqliteDb _db = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _db.Dispose();

    private Task<ConfigRuntime> StartAsync(params (string Key, string Value)[] rows) => StartAsync(null, rows);

    private async Task<ConfigRuntime> StartAsync(Action<IAppRuntimeBuilder>? compose, params (string Key, string Value)[] rows)
    {
        await _db.EnsureSchemaAsync();
        foreach (var (key, value) in rows)
            _db.Set(key, value);
        var rt = new ConfigRuntime(b =>
        {
            b.AddSqliteConfiguration(_db.ConnectionString, o =>
            {
                o.PollInterval = Poll;
                o.TimeProvider = _time;
            });
            compose?.Invoke(b);
        }, _time);
        await rt.StartAsync();
        return rt;
    }

    [Fact]
    public async Task An_update_in_the_database_reaches_a_subscriber_at_the_next_poll()
    {
        await using var rt = await StartAsync(("Shop:Host", "one.example"), ("Shop:Port", "8443"));
        Assert.Equal("one.example", rt.Shop.Current.Host);
        var seen = new List<(string Host, int Port)>();
        using var _ = rt.Shop.OnChange(s => seen.Add((s.Host, s.Port)));
        var monitor = rt.Provider.GetRequiredService<IOptionsMonitor<ShopSettings>>();
        var monitored = new List<string>();
        using var __ = monitor.OnChange((s, _) => monitored.Add(s.Host));

        _db.Execute("""UPDATE appruntime_settings SET value = 'two.example' WHERE key = 'Shop:Host'""");
        _time.Advance(Poll - TimeSpan.FromMilliseconds(1));
        Assert.Empty(seen); // nothing but the poll can deliver it

        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal([("two.example", 8443)], seen);
        Assert.Equal(["two.example"], monitored);
        Assert.Equal("two.example", monitor.CurrentValue.Host);
        Assert.Equal("two.example", rt.Configuration["Shop:Host"]);
        Assert.Equal(1, rt.Config.Version);
    }

    [Fact]
    public async Task Inserted_and_deleted_rows_are_detected_and_a_deleted_key_falls_back_to_the_lower_layer()
    {
        await using var rt = await StartAsync(
            b => b.AddConfigProvider(new MemoryConfigProvider(ConfigLayer.Defaults, new() { ["Shop:Workers"] = "2" })),
            ("Shop:Host", "db.example"));
        Assert.Equal(2, rt.Shop.Current.Workers);
        var seen = new List<int>();
        using var _ = rt.Shop.OnChange(s => seen.Add(s.Workers));

        _db.Set("Shop:Workers", "7");
        _time.Advance(Poll);
        Assert.Equal([7], seen);

        _db.Delete("Shop:Workers");
        _time.Advance(Poll);
        Assert.Equal([7, 2], seen);
    }

    [Fact]
    public async Task A_poll_without_a_change_does_not_notify_subscribers()
    {
        await using var rt = await StartAsync(("Shop:Host", "same.example"));
        var seen = 0;
        using var _ = rt.Shop.OnChange(_ => seen++);

        _time.Advance(Poll);
        _time.Advance(Poll);
        _db.Execute("""UPDATE appruntime_settings SET value = value WHERE key = 'Shop:Host'"""); // counter moves, values do not
        _time.Advance(Poll);

        Assert.Equal(0, seen);
        Assert.Equal(0, rt.Config.Version);
    }

    [Fact]
    public async Task An_invalid_database_value_is_refused_keeping_the_last_good_config_with_health_degraded_until_fixed()
    {
        await using var rt = await StartAsync(("Shop:Host", "good.example"), ("Shop:Port", "443"));
        var seen = new List<int>();
        using var _ = rt.Shop.OnChange(s => seen.Add(s.Port));

        _db.Set("Shop:Port", "70000");
        _time.Advance(Poll);

        Assert.Empty(seen);
        Assert.Equal(443, rt.Shop.Current.Port);
        Assert.Equal(443, rt.Provider.GetRequiredService<ShopSettings>().Port);
        var refused = Assert.Single(rt.Config.LastReloadErrors);
        Assert.Equal("Shop:Port", refused.KeyPath);
        var report = await rt.Health.CheckReadinessAsync();
        Assert.Equal(HealthStatus.Degraded, report.Status);
        var entry = report.Entries.Single(e => e.Name == "configuration");
        Assert.Equal(HealthStatus.Degraded, entry.Result.Status);
        Assert.Contains("Shop:Port: must be a whole number from 1 to 65535 (was '70000')", entry.Result.Description, StringComparison.Ordinal);

        _db.Set("Shop:Port", "8443");
        _time.Advance(Poll);

        Assert.Equal([8443], seen);
        Assert.Empty(rt.Config.LastReloadErrors);
        Assert.Equal(HealthStatus.Healthy, (await rt.Health.CheckReadinessAsync()).Status);
    }

    [Fact]
    public async Task A_start_with_three_invalid_database_values_lists_all_three_key_paths()
    {
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", " ");
        _db.Set("Shop:Port", "0");
        _db.Set("Shop:Workers", "many");
        await using var rt = new ConfigRuntime(b => b.AddSqliteConfiguration(_db.ConnectionString, o => o.TimeProvider = _time), _time);

        var ex = await Assert.ThrowsAsync<ConfigValidationException>(rt.StartAsync);

        Assert.Equal(["Shop:Host", "Shop:Port", "Shop:Workers"], ex.Errors.Select(e => e.KeyPath).Order(StringComparer.Ordinal));
        Assert.Contains("Shop:Workers: must be a whole number from 1 to 64 (was 'many')", ex.Message, StringComparison.Ordinal);
        Assert.Equal(RuntimeState.Faulted, rt.Runtime.State);
    }

    [Fact]
    public async Task A_missing_table_is_created_with_its_change_counter()
    {
        await using var rt = new ConfigRuntime(b => b.AddSqliteConfiguration(_db.ConnectionString, o =>
        {
            o.TableName = "my_settings";
            o.TimeProvider = _time;
            o.PollInterval = Poll;
        }), _time);
        Assert.True(File.Exists(_db.FilePath));
        Assert.Equal(0, ScalarIn(_db, "SELECT version FROM my_settings_version WHERE id = 1"));

        _db.Execute("INSERT INTO my_settings (key, value) VALUES ('Shop:Host', 'created.example')");
        Assert.Equal(1, ScalarIn(_db, "SELECT version FROM my_settings_version WHERE id = 1"));
        Assert.Equal(1, ScalarIn(_db, "SELECT version FROM my_settings WHERE key = 'Shop:Host'"));
        _db.Execute("UPDATE my_settings SET value = 'changed.example'");
        Assert.Equal(2, ScalarIn(_db, "SELECT version FROM my_settings WHERE key = 'Shop:Host'"));
        _db.Execute("DELETE FROM my_settings");
        Assert.Equal(3, ScalarIn(_db, "SELECT version FROM my_settings_version WHERE id = 1"));
    }

    private static long ScalarIn(SqliteDb db, string sql) => db.Scalar(sql);

    [Fact]
    public async Task A_database_that_cannot_be_opened_at_start_fails_naming_the_provider_with_the_password_redacted()
    {
        var missing = Path.Combine(_db.DirectoryPath, "no-such-dir", "config.db");
        await using var rt = new ConfigRuntime(_ => { }, _time);

        var ex = Assert.Throws<ConfigProviderException>(() =>
            rt.Builder.AddSqliteConfiguration($"Data Source={missing};Mode=ReadOnly;Password=hunter2-secret"));

        Assert.StartsWith("sqlite:", ex.ProviderName, StringComparison.Ordinal);
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
        Assert.Contains("***", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public async Task A_database_that_fails_at_run_time_keeps_the_last_values_degrades_health_and_recovers()
    {
        var logs = new CapturingLoggerFactory();
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "kept.example");
        await using var rt = new ConfigRuntime(b => b.AddSqliteConfiguration(_db.ConnectionString, o =>
        {
            o.PollInterval = Poll;
            o.TimeProvider = _time;
            o.LoggerFactory = logs;
        }), _time);
        await rt.StartAsync();
        var seen = new List<string>();
        using var _ = rt.Shop.OnChange(s => seen.Add(s.Host));

        _db.Execute("ALTER TABLE appruntime_settings_version RENAME TO moved_away");
        _time.Advance(Poll);

        Assert.Equal("kept.example", rt.Shop.Current.Host);
        Assert.Equal("kept.example", rt.Configuration["Shop:Host"]);
        var degraded = await rt.HealthOfAsync("configuration-sqlite");
        Assert.Equal(HealthStatus.Degraded, degraded.Result.Status);
        Assert.Contains("no such table", degraded.Result.Description, StringComparison.Ordinal);
        Assert.Contains(logs.Messages, m => m.StartsWith("Warning", StringComparison.Ordinal) && m.Contains("cannot read its settings", StringComparison.Ordinal));

        _time.Advance(Poll); // still failing: retried, nothing lost
        Assert.Equal("kept.example", rt.Shop.Current.Host);

        _db.Execute("ALTER TABLE moved_away RENAME TO appruntime_settings_version");
        _db.Set("Shop:Host", "back.example");
        _time.Advance(Poll);

        Assert.Equal(["back.example"], seen);
        Assert.Equal(HealthStatus.Healthy, (await rt.HealthOfAsync("configuration-sqlite")).Result.Status);
    }

    [Fact]
    public async Task An_explicit_reload_reads_the_database_at_once()
    {
        await using var rt = await StartAsync(("Shop:Host", "before.example"));
        _db.Set("Shop:Host", "after.example");

        var result = rt.Provider.GetRequiredService<ControlPlaneService>().ReloadConfiguration().Value!;

        Assert.True(result.Applied);
        Assert.Equal("after.example", rt.Shop.Current.Host);
    }

    [Fact]
    public async Task Providers_replaced_when_later_sources_are_added_stop_polling()
    {
        var logs = new CapturingLoggerFactory();
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "one.example");
        await using var rt = new ConfigRuntime(b =>
        {
            b.AddSqliteConfiguration(_db.ConnectionString, o =>
            {
                o.PollInterval = Poll;
                o.TimeProvider = _time;
                o.LoggerFactory = logs;
            });
            // Each added source makes Microsoft.Extensions.Configuration build every provider again.
            b.AddConfigProvider(new MemoryConfigProvider(ConfigLayer.Defaults, new() { ["Shop:Port"] = "1" }));
            b.AddConfigProvider(new MemoryConfigProvider(ConfigLayer.Defaults, new() { ["Shop:Workers"] = "1" }));
        }, _time);
        await rt.StartAsync();
        Assert.Equal(3, logs.Messages.Count(m => m.Contains("loaded 1 key(s)", StringComparison.Ordinal)));

        _db.Set("Shop:Host", "two.example");
        _time.Advance(Poll);

        Assert.Equal("two.example", rt.Shop.Current.Host);
        Assert.Single(logs.Messages, m => m.Contains("saw a change", StringComparison.Ordinal));
    }
}
