using AppRuntime.Configuration.Tests;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace AppRuntime.Configuration.Sqlite.Tests;

public sealed class PrecedenceTests : IDisposable
{
    private readonly SqliteDb _db = new();
    private readonly FakeTimeProvider _time = new();
    private readonly string _envPrefix = "APPRT_" + Guid.NewGuid().ToString("N")[..8] + "_";

    public void Dispose()
    {
        foreach (var name in new[] { "Layers__Environment", "Layers__CommandLine", "Shop__Port", "Shop__Workers" })
            Environment.SetEnvironmentVariable(_envPrefix + name, null);
        _db.Dispose();
    }

    [Fact]
    public async Task Defaults_platform_file_application_file_database_environment_command_line_each_override_the_one_before()
    {
        // Every layer sets the keys of its own layer and of every layer above it, so each key shows who wins.
        string[] layers = ["Defaults", "Platform", "Application", "Database", "Environment", "CommandLine"];
        Dictionary<string, string?> From(string layer) =>
            layers.SkipWhile(l => l != layer).ToDictionary(l => "Layers:" + l, _ => (string?)layer.ToLowerInvariant());
        var platformFile = Path.Combine(_db.DirectoryPath, "appruntime.json");
        var applicationFile = Path.Combine(_db.DirectoryPath, "appsettings.json");
        await File.WriteAllTextAsync(platformFile, Json(From("Platform"), ("Shop:Host", "platform.example"), ("Shop:Port", "1001")));
        await File.WriteAllTextAsync(applicationFile, Json(From("Application"), ("Shop:Host", "application.example"), ("Shop:Port", "1002")));
        await _db.EnsureSchemaAsync();
        foreach (var (key, value) in From("Database"))
            _db.Set(key, value);
        _db.Set("Shop:Host", "database.example");
        _db.Set("Shop:Port", "1003");
        _db.Set("Shop:Workers", "3");
        Environment.SetEnvironmentVariable(_envPrefix + "Layers__Environment", "environment");
        Environment.SetEnvironmentVariable(_envPrefix + "Layers__CommandLine", "environment");
        Environment.SetEnvironmentVariable(_envPrefix + "Shop__Port", "1004");
        Environment.SetEnvironmentVariable(_envPrefix + "Shop__Workers", "4");

        // The host adds environment variables and the command line first (as Host.CreateApplicationBuilder does); the loaders
        // added afterwards, highest layer first, must still land below them, each at its own layer.
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationManager();
        configuration.AddEnvironmentVariables(_envPrefix);
        configuration.AddCommandLine(["--Layers:CommandLine=commandline", "--Shop:Workers=5"]);
        await using var rt = new ConfigRuntime(b =>
        {
            b.AddSqliteConfiguration(_db.ConnectionString, o =>
            {
                o.TimeProvider = _time;
                o.PollInterval = TimeSpan.FromSeconds(1);
            });
            b.AddConfigProvider(new JsonFileConfigProvider(applicationFile, ConfigLayer.Application, reloadOnChange: false));
            b.AddConfigProvider(new JsonFileConfigProvider(platformFile, ConfigLayer.Platform, reloadOnChange: false));
            b.AddConfigProvider(new MemoryConfigProvider(ConfigLayer.Defaults, From("Defaults")));
        }, _time, configuration);
        await rt.StartAsync();

        foreach (var layer in layers)
            Assert.Equal(layer.ToLowerInvariant(), rt.Configuration["Layers:" + layer]);
        var shop = rt.Shop.Current;
        Assert.Equal("database.example", shop.Host); // database over both files
        Assert.Equal(1004, shop.Port);               // environment over database
        Assert.Equal(5, shop.Workers);               // command line over environment

        // A change in the database shows where the database wins, and stays hidden where a higher layer wins.
        _db.Set("Shop:Host", "database-changed.example");
        _db.Set("Shop:Port", "2003");
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("database-changed.example", rt.Shop.Current.Host);
        Assert.Equal(1004, rt.Shop.Current.Port);
    }

    private static string Json(Dictionary<string, string?> layers, params (string Key, string Value)[] shop)
    {
        var layerJson = string.Join(", ", layers.Select(kv => $"\"{kv.Key.Split(':')[1]}\": \"{kv.Value}\""));
        var shopJson = string.Join(", ", shop.Select(kv => $"\"{kv.Key.Split(':')[1]}\": \"{kv.Value}\""));
        return $$"""{ "Layers": { {{layerJson}} }, "Shop": { {{shopJson}} } }""";
    }
}
