using System.Globalization;
using AppRuntime;
using AppRuntime.Mail;
using AppRuntime.Testing;
using MailOrderBot.Domain;
using MailOrderBot.Module;
using MailOrderBot.Services;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace MailOrderBot.Tests;

/// <summary>
/// The bot's module on the public harness (AppRuntime.Testing), as a team testing its own service would: in-memory queues, a fake clock,
/// what was handled, retried and dead-lettered.
/// </summary>
public sealed class BotHarnessTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"bot-harness-{Guid.NewGuid():N}");

    public BotHarnessTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class ScriptedStore(params Func<OrderOutcome, bool>[] answers) : IOrderStore
    {
        private int _calls;

        public List<OrderOutcome> Saved { get; } = [];

        public ValueTask<bool> SaveAsync(OrderOutcome outcome, CancellationToken cancellationToken)
        {
            var answer = answers[Math.Min(Interlocked.Increment(ref _calls), answers.Length) - 1];
            var stored = answer(outcome);
            if (stored)
                lock (Saved)
                    Saved.Add(outcome);
            return ValueTask.FromResult(stored);
        }

        public ValueTask<OrderSummary> GetSummaryAsync(CancellationToken cancellationToken) => ValueTask.FromResult(new OrderSummary(0, 0, 0));
    }

    private Task<AppRuntimeHarness> StartAsync(Action<AppRuntimeHarnessOptions> configure) =>
        AppRuntimeHarness.StartAsync(runtime => runtime.AddMailOrderBotModule(), o =>
        {
            o.Configuration["MailOrderBot:Store:Path"] = Path.Combine(_dir, "orders.db");
            foreach (var (sku, product) in TestData.Settings().Catalog)
            {
                o.Configuration[$"MailOrderBot:Catalog:{sku}:Name"] = product.Name;
                o.Configuration[$"MailOrderBot:Catalog:{sku}:Price"] = product.Price.ToString(CultureInfo.InvariantCulture);
            }
            configure(o);
        });

    private static ImapMessage Email(string messageId) => TestData.Email(TestData.Headers($"<{messageId}>") + "SKU-1001 x 2\n", "test:" + messageId);

    [Fact]
    public async Task The_demo_inbox_runs_through_the_whole_module_on_the_fake_clock()
    {
        var inbox = Path.Combine(_dir, "inbox");
        Directory.CreateDirectory(inbox);
        foreach (var file in Directory.EnumerateFiles(TestData.DemoInbox, "*.eml"))
            File.Copy(file, Path.Combine(inbox, Path.GetFileName(file)));

        await using var app = await StartAsync(o => o.Configuration["MailOrderBot:Folder:Path"] = inbox);
        await app.RunUntilIdleAsync(); // the folder source scanned once, reported caught up, and every email settled

        Assert.Equal(19, app.Handled<ImapMessage>("orders").Count); // 21 files, 2 are not emails
        var stats = app.GetRequiredService<OrderStats>();
        Assert.Equal((12, 6, 1), (stats.Accepted, stats.Rejected, stats.Duplicates));
        Assert.Equal(19, Directory.GetFiles(Path.Combine(inbox, "processed")).Length);
        Assert.Empty(app.Retried<ImapMessage>("orders"));
    }

    [Fact]
    public async Task A_busy_store_is_retried_after_the_pools_backoff_and_the_order_is_then_stored()
    {
        var store = new ScriptedStore(_ => throw new SqliteException("database is locked", 5), _ => true);
        await using var app = await StartAsync(o =>
        {
            o.RunSources = false;
            o.ConfigureServices = services => services.AddSingleton<IOrderStore>(store);
        });

        await app.PublishAsync(Email("busy@test"));
        await app.RunUntilIdleAsync();

        var retry = Assert.Single(app.Retried<ImapMessage>("orders"));
        Assert.Contains("Order store unavailable for busy@test", retry.Error, StringComparison.Ordinal);
        Assert.Empty(store.Saved);

        await app.AdvanceTimeAsync(TimeSpan.FromMilliseconds(500)); // the pool's RetryDelayMilliseconds

        Assert.Single(app.Handled<ImapMessage>("orders"));
        Assert.Equal(["busy@test"], store.Saved.Select(o => o.MessageId));
    }

    [Fact]
    public async Task A_store_error_no_retry_can_fix_dead_letters_the_email_at_once()
    {
        var store = new ScriptedStore(_ => throw new SqliteException("file is not a database", 26));
        await using var app = await StartAsync(o =>
        {
            o.RunSources = false;
            o.ConfigureServices = services => services.AddSingleton<IOrderStore>(store);
        });

        await app.PublishAsync(Email("broken@test"));
        await app.RunUntilDrainedAsync();

        var dead = Assert.Single(app.DeadLettered<ImapMessage>("orders"));
        Assert.Equal(1, dead.Attempt);
        Assert.Contains("Order store rejected broken@test", dead.Error, StringComparison.Ordinal);
        Assert.Empty(app.Retried<ImapMessage>("orders"));
    }

    [Fact]
    public async Task An_invalid_setting_stops_the_bot_before_it_starts_with_the_key_at_fault()
    {
        var error = await Assert.ThrowsAsync<ConfigValidationException>(() => StartAsync(o => o.Configuration["MailOrderBot:Workers"] = "0"));

        Assert.Contains(error.Errors, e => e.KeyPath == "MailOrderBot:Workers");
    }
}
