using AppRuntime.Configuration.Tests;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Configuration.PostgreSql.Tests;

/// <summary>What needs no server: start-up failure on an unreachable server, names and option checks.</summary>
public sealed class PostgreSqlConfigProviderTests
{
    [Fact]
    public async Task A_server_that_cannot_be_reached_at_start_fails_naming_the_provider_and_connection_with_the_password_redacted()
    {
        var time = new FakeTimeProvider();
        await using var rt = new ConfigRuntime(_ => { }, time);

        var ex = Assert.Throws<ConfigProviderException>(() => rt.Builder.AddPostgreSqlConfiguration(
            "Host=127.0.0.1;Port=1;Username=app;Password=pg-secret-value;Database=cfg;Timeout=5", o => o.TimeProvider = time));

        Assert.StartsWith("postgresql:", ex.ProviderName, StringComparison.Ordinal);
        Assert.Contains("Port=1", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("***", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret-value", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
    }

    [Theory]
    [InlineData("SSL Password")]
    [InlineData("SslPassword")]
    public async Task The_start_up_error_of_an_unreachable_server_never_shows_the_ssl_password(string keyword)
    {
        var time = new FakeTimeProvider();
        await using var rt = new ConfigRuntime(_ => { }, time);

        var ex = Assert.Throws<ConfigProviderException>(() => rt.Builder.AddPostgreSqlConfiguration(
            $"Host=127.0.0.1;Port=1;Username=app;{keyword}=ssl-secret-value;Password=pg-secret-value;Timeout=5", o => o.TimeProvider = time));

        // AppRuntimeConsole prints this message as "AppRuntime failed to start: ...".
        Assert.Contains($"{keyword}=***", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ssl-secret-value", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret-value", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1table")]
    [InlineData("settings; DROP TABLE x")]
    [InlineData("a_name_that_is_much_too_long_for_the_suffixes_we_add")]
    public void An_unsafe_table_name_is_refused(string table)
    {
        var ex = Assert.Throws<ArgumentException>(() => new PostgreSqlConfigProvider("Host=127.0.0.1", new PostgreSqlConfigOptions { TableName = table }));

        Assert.Contains("settings table name", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_provider_sits_at_the_database_layer()
    {
        var provider = new PostgreSqlConfigProvider("Host=db;Password=x-secret");

        Assert.Equal(ConfigLayer.Database, provider.Layer);
        Assert.DoesNotContain("x-secret", provider.Name, StringComparison.Ordinal);
    }
}
