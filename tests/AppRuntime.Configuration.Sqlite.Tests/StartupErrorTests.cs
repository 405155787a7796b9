using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppRuntime.Configuration.Sqlite.Tests;

/// <summary>A real Program.cs (the StartupApp project) run as a child process through <see cref="AppRuntimeConsole"/>.</summary>
public sealed class StartupErrorTests : IDisposable
{
    private readonly SqliteDb _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task An_invalid_configuration_exits_non_zero_listing_every_error_without_a_stack_trace()
    {
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "valid.example");
        _db.Set("Shop:Port", "99999");
        _db.Set("Shop:Workers", "lots");
        _db.Set("Shop:Password", "tiny");

        var (code, stdout, stderr) = await RunAppAsync(_db.ConnectionString);

        Assert.Equal(AppRuntimeConsole.InvalidConfigurationExitCode, code);
        Assert.Contains("the configuration is invalid (3 errors)", stderr, StringComparison.Ordinal);
        Assert.Contains("  - Shop:Port: must be a whole number from 1 to 65535 (was '99999')", stderr, StringComparison.Ordinal);
        Assert.Contains("  - Shop:Workers: must be a whole number from 1 to 64 (was 'lots')", stderr, StringComparison.Ordinal);
        Assert.Contains("  - Shop:Password: must be at least 8 characters (was '***')", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("tiny", stdout + stderr, StringComparison.Ordinal);
        AssertNoStackTrace(stdout + stderr);
    }

    [Fact]
    public async Task A_valid_configuration_starts_and_exits_zero()
    {
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "valid.example");

        var (code, _, stderr) = await RunAppAsync(_db.ConnectionString);

        Assert.True(code == 0, $"exit code {code}: {stderr}");
    }

    [Fact]
    public async Task A_command_line_override_is_validated_like_any_other_layer()
    {
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "valid.example");

        var (code, _, stderr) = await RunAppAsync(_db.ConnectionString, "--Shop:Port=-1");

        Assert.Equal(AppRuntimeConsole.InvalidConfigurationExitCode, code);
        Assert.Contains("  - Shop:Port: must be a whole number from 1 to 65535 (was '-1')", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_cannot_be_opened_exits_non_zero_naming_the_provider_without_a_stack_trace()
    {
        var missing = Path.Combine(_db.DirectoryPath, "missing", "config.db");

        var (code, stdout, stderr) = await RunAppAsync($"Data Source={missing};Mode=ReadOnly;Password=never-shown");

        Assert.Equal(AppRuntimeConsole.InvalidConfigurationExitCode, code);
        Assert.Contains($"AppRuntime failed to start: Configuration provider 'sqlite:", stderr, StringComparison.Ordinal);
        Assert.Contains(missing, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("never-shown", stdout + stderr, StringComparison.Ordinal);
        AssertNoStackTrace(stdout + stderr);
    }

    [Fact]
    public async Task Platform_keys_are_checked_before_the_host_starts()
    {
        await _db.EnsureSchemaAsync();
        _db.Set("Shop:Host", "valid.example");
        _db.Set("AppRuntime:Queues:orders:Backend", "Nowhere");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _db.DirectoryPath, Args = [] });
        var runtime = builder.AddAppRuntime().AddSqliteConfiguration(_db.ConnectionString).AddConfigSection(Configuration.Tests.ShopSettings.Definition);
        runtime.AddQueue<string>(new QueueDefinition("orders", "string"));
        var started = false;
        builder.Services.AddHostedService(_ => new StartWatcher(() => started = true));
        using var error = new StringWriter();

        var code = await AppRuntimeConsole.RunAsync(builder.Build(), error, CancellationToken.None);

        Assert.Equal(AppRuntimeConsole.InvalidConfigurationExitCode, code);
        Assert.Contains("  - AppRuntime:Queues:orders:Backend: unknown queue backend 'Nowhere'", error.ToString(), StringComparison.Ordinal);
        Assert.False(started);
    }

    private static void AssertNoStackTrace(string output)
    {
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception:", output, StringComparison.Ordinal);
    }

    private async Task<(int Code, string Stdout, string Stderr)> RunAppAsync(params string[] args)
    {
        var app = Path.Combine(AppContext.BaseDirectory, "AppRuntime.Configuration.Sqlite.StartupApp.dll");
        Assert.True(File.Exists(app), $"the child program is built next to the tests: {app}");
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = _db.DirectoryPath,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(app);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the child program did not exit within 60 s; stderr: {await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private sealed class StartWatcher(Action onStart) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            onStart();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
