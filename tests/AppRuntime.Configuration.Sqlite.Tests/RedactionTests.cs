using AppRuntime.Configuration.Tests;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Configuration.Sqlite.Tests;

public sealed class RedactionTests : IDisposable
{
    private readonly SqliteDb _db = new();
    private readonly FakeTimeProvider _time = new();

    public void Dispose() => _db.Dispose();

    [Theory]
    [InlineData("Shop:Password", true)]           // declared by the section
    [InlineData("Shop:Credentials:User", true)]   // under a declared section
    [InlineData("Payments:ApiKey", true)]
    [InlineData("Payments:Stripe:ClientSecret", true)]
    [InlineData("Auth:RefreshToken", true)]
    [InlineData("Db:ConnectionString", true)]
    [InlineData("ConnectionStrings:Main", true)]
    [InlineData("Mail:Smtp:Pwd", true)]
    [InlineData("Webhooks:Sources:github:SigningKey", true)]
    [InlineData("Aws:AccessKey", true)]
    [InlineData("Encryption:Key", true)]
    [InlineData("Tls:PrivateKeyPassphrase", true)]
    [InlineData("Smtp:ClientSecret", true)]
    [InlineData("Auth:BearerToken", true)]
    [InlineData("Db:AdminPassword", true)]
    [InlineData("Db:SSL Password", true)]
    [InlineData("Shop:Host", false)]
    [InlineData("AppRuntime:Redis:KeyPrefix", false)]
    [InlineData("MailOrderBot:Imap:FailedKeyword", false)]
    [InlineData("Logging:LogLevel:Default", false)]
    [InlineData("AppRuntime:Pools:orders:Workers", false)]
    [InlineData("Shop", false)]
    public void Keys_declared_secret_or_named_like_a_credential_are_secret(string key, bool secret)
    {
        var declared = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Shop:Password", "Shop:Credentials" };

        Assert.Equal(secret, ConfigRedaction.IsSecret(key, declared));
    }

    [Fact]
    public async Task The_configuration_view_masks_every_secret_served_from_the_database()
    {
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "visible.example");
        _db.Set("Shop:Password", "db-password-1");
        _db.Set("Payments:ApiKey", "db-api-key-2");
        _db.Set("ConnectionStrings:Main", "Host=x;Password=db-conn-3");
        await using var rt = new ConfigRuntime(b => b.AddSqliteConfiguration(_db.ConnectionString, o => o.TimeProvider = _time), _time);
        await rt.StartAsync();

        var view = ConfigRedaction.Redact(rt.Configuration, rt.Config.SecretKeys);

        Assert.Equal("visible.example", view["Shop:Host"]);
        Assert.Equal(ConfigRedaction.Mask, view["Shop:Password"]);
        Assert.Equal(ConfigRedaction.Mask, view["Payments:ApiKey"]);
        Assert.Equal(ConfigRedaction.Mask, view["ConnectionStrings:Main"]);
        Assert.Equal(view.Keys.Order(StringComparer.OrdinalIgnoreCase), view.Keys);
        Assert.DoesNotContain(view.Values, v => v.Contains("db-", StringComparison.Ordinal));
    }

    [Fact]
    public void A_password_inside_a_value_of_an_ordinary_key_is_masked()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration["Db:Main"] = "Host=db;Username=app;Password=embedded-1";
        configuration["AppRuntime:Redis:Configuration"] = "127.0.0.1:6390,password=embedded-2";
        configuration["Shop:Host"] = "plain.example";

        var view = ConfigRedaction.Redact(configuration, null);

        Assert.Contains("username=app", view["Db:Main"], StringComparison.OrdinalIgnoreCase);
        Assert.Equal("127.0.0.1:6390,password=***", view["AppRuntime:Redis:Configuration"]); // the endpoint stays visible
        Assert.Equal("plain.example", view["Shop:Host"]);
        Assert.DoesNotContain(view.Values, v => v.Contains("embedded", StringComparison.Ordinal));
    }

    [Fact]
    public void An_error_about_a_secret_key_does_not_repeat_its_value()
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration["Shop:Password"] = "short";
        configuration["Shop:Port"] = "0";
        var secret = new ConfigError("Shop:Password", "must be at least 8 characters (was 'short')");
        var plain = new ConfigError("Shop:Port", "must be a whole number from 1 to 65535 (was '0')");
        var declared = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Shop:Password" };

        Assert.Equal("must be at least 8 characters (was '***')", ConfigRedaction.Redact(secret, configuration, declared).Message);
        Assert.Same(plain, ConfigRedaction.Redact(plain, configuration, declared));
    }

    [Theory]
    [InlineData("Host=db;Username=app;Password=s3cr3t-value;Database=cfg")]
    [InlineData("Data Source=config.db;pwd=s3cr3t-value")]
    public void Passwords_in_connection_strings_are_masked(string connectionString)
    {
        var redacted = ConfigRedaction.RedactConnectionString(connectionString);

        Assert.DoesNotContain("s3cr3t-value", redacted, StringComparison.Ordinal);
        Assert.Contains(ConfigRedaction.Mask, redacted, StringComparison.Ordinal);
        Assert.Contains("db", redacted, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every password-like field of the connection strings AppRuntime shows (Npgsql, SQLite, StackExchange.Redis), URI user
    /// information, and the same inside error messages: the secret never survives, what an operator needs to see does.
    /// </summary>
    [Theory]
    // Npgsql
    [InlineData("Host=db;Username=app;Password=S1;Database=cfg", "S1", "Host=db;Username=app;Password=***;Database=cfg")]
    [InlineData("Host=db;Username=app;SSL Password=S1;SSL Certificate=/c.pem", "S1", "Host=db;Username=app;SSL Password=***;SSL Certificate=/c.pem")]
    [InlineData("Host=db;SslPassword=S1;Password=S2", "S1 S2", "Host=db;SslPassword=***;Password=***")]
    [InlineData("Host=db; ssl password = 'S1 with; semicolon' ;Port=5432", "S1", "Host=db; ssl password =*** ;Port=5432")]
    [InlineData("Host=db;Password=\"S1;x\";Port=5432", "S1", "Host=db;Password=***;Port=5432")]
    [InlineData("Server=db;User Id=app;Pwd=S1", "S1", "Server=db;User Id=app;Pwd=***")]
    // SQLite
    [InlineData("Data Source=/var/lib/app/config.db;Password=S1;Mode=ReadOnly", "S1", "Data Source=/var/lib/app/config.db;Password=***;Mode=ReadOnly")]
    // StackExchange.Redis
    [InlineData("redis-1:6379,password=S1,ssl=true", "S1", "redis-1:6379,password=***,ssl=true")]
    [InlineData("redis-1:6379,user=app,password=S1", "S1", "redis-1:6379,user=app,password=***")]
    [InlineData("password=S1,redis-1:6379", "S1", "password=***,redis-1:6379")]
    // URIs with user information
    [InlineData("redis://app:S1@redis-1:6379/0", "S1", "redis://app:***@redis-1:6379/0")]
    [InlineData("rediss://:S1@redis-1:6380", "S1", "rediss://:***@redis-1:6380")]
    [InlineData("postgresql://app:S1@db:5432/cfg?sslmode=require", "S1", "postgresql://app:***@db:5432/cfg?sslmode=require")]
    [InlineData("imaps://bot:p@ss-S1@mail.example.com", "p@ss-S1", "imaps://bot:***@mail.example.com")]
    [InlineData("https://hooks.example/in?token=S1&x=1", "S1", "https://hooks.example/in?token=***&x=1")]
    // The same inside messages
    [InlineData("Configuration provider 'postgresql:Host=db;SSL Password=S1' failed: cannot read the settings: timeout",
        "S1", "Configuration provider 'postgresql:Host=db;SSL Password=***' failed: cannot read the settings: timeout")]
    [InlineData("could not connect to redis://app:S1@10.0.0.5:6379 (refused)", "S1", "could not connect to redis://app:***@10.0.0.5:6379 (refused)")]
    // Nothing to hide: unchanged
    [InlineData("Host=db;Username=app;Database=cfg", "", "Host=db;Username=app;Database=cfg")]
    [InlineData("127.0.0.1:6390,abortConnect=false", "", "127.0.0.1:6390,abortConnect=false")]
    [InlineData("Order 42 rejected: unknown SKU X-1; quantity 0 of SKU-1 is not between 1 and 1000", "", "Order 42 rejected: unknown SKU X-1; quantity 0 of SKU-1 is not between 1 and 1000")]
    public void Secrets_in_connection_strings_uris_and_messages_are_masked(string value, string secrets, string expected)
    {
        var redacted = ConfigRedaction.RedactConnectionString(value);

        foreach (var secret in secrets.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        Assert.Equal(expected, redacted);
    }

    [Fact]
    public void The_provider_name_shows_the_connection_without_its_password()
    {
        var provider = new SqliteConfigProvider("Data Source=config.db;Password=s3cr3t-value");

        Assert.StartsWith("sqlite:", provider.Name, StringComparison.Ordinal);
        Assert.Contains("config.db", provider.Name, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-value", provider.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_provider_never_logs_values()
    {
        var logs = new CapturingLoggerFactory();
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "host-value-visible-only-in-config");
        _db.Set("Shop:Password", "password-value-1");
        await using var rt = new ConfigRuntime(b => b.AddSqliteConfiguration(_db.ConnectionString, o =>
        {
            o.TimeProvider = _time;
            o.PollInterval = TimeSpan.FromSeconds(1);
            o.LoggerFactory = logs;
        }), _time);
        await rt.StartAsync();
        _db.Set("Shop:Password", "password-value-2");
        _time.Advance(TimeSpan.FromSeconds(1));
        _db.Execute("ALTER TABLE appruntime_settings_version RENAME TO gone");
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("password-value-2", rt.Shop.Current.Password);
        Assert.Contains(logs.Messages, m => m.Contains("loaded 2 key(s)", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("saw a change", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("cannot read its settings", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Messages, m => m.Contains("-value", StringComparison.Ordinal));
    }
}
