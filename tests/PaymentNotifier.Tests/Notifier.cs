using AppRuntime;
using AppRuntime.Testing;
using PaymentNotifier.Domain;
using PaymentNotifier.Module;

namespace PaymentNotifier.Tests;

/// <summary>The application's module on the public harness, with a store file and a pickup folder of its own per test.</summary>
internal sealed class Notifier : IAsyncDisposable
{
    private Notifier(AppRuntimeHarness app, string directory)
    {
        App = app;
        Directory = directory;
    }

    public AppRuntimeHarness App { get; }

    public string Directory { get; }

    public string StorePath => Path.Combine(Directory, "store.db");

    public string PickupPath => Path.Combine(Directory, "pickup");

    /// <summary>Sources off (the tests publish the tasks), the webhook listener on a free port, notices to a pickup folder unless <paramref name="settings"/> say otherwise.</summary>
    public static async Task<Notifier> StartAsync(IDictionary<string, string?>? settings = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "pn-test-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(directory);
        var app = await AppRuntimeHarness.StartAsync(runtime => runtime.AddPaymentNotifierModule(), o =>
        {
            o.RunSources = false;
            o.StartTime = new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
            o.Configuration["AppRuntime:Webhooks:Urls"] = "http://127.0.0.1:0";
            o.Configuration["AppRuntime:Webhooks:Sources:payments:Secrets:0"] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
            o.Configuration["PaymentNotifier:Store:Path"] = Path.Combine(directory, "store.db");
            o.Configuration["PaymentNotifier:Delivery:PickupPath"] = Path.Combine(directory, "pickup");
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
                o.Configuration[key] = value;
            o.ConfigureServices = services;
        });
        return new Notifier(app, directory);
    }

    /// <summary>The SMTP settings for <paramref name="smtp"/>.</summary>
    public static Dictionary<string, string?> Smtp(SmtpTestServer smtp) => new()
    {
        ["PaymentNotifier:Delivery:Mode"] = nameof(DeliveryMode.Smtp),
        ["PaymentNotifier:Smtp:Host"] = smtp.Host,
        ["PaymentNotifier:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["PaymentNotifier:Smtp:Security"] = nameof(SmtpSecurity.None),
        ["PaymentNotifier:Smtp:Timeout"] = "00:00:10",
    };

    public static PaymentEvent Failed(string eventId, string invoice, int attempt, long amount = 4999, DateTimeOffset? at = null) =>
        new(eventId, PaymentEventTypes.InvoicePaymentFailed, at ?? new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.Zero), "cus_" + invoice,
            invoice + "@example.com", "Customer " + invoice, invoice, amount, "EUR", attempt, "insufficient_funds");

    public static PaymentEvent Paid(string eventId, string invoice, long amount = 4999, DateTimeOffset? at = null) =>
        new(eventId, PaymentEventTypes.InvoicePaid, at ?? new DateTimeOffset(2026, 12, 5, 11, 0, 0, TimeSpan.Zero), "cus_" + invoice,
            invoice + "@example.com", "Customer " + invoice, invoice, amount, "EUR", 1, null);

    public static DunningNotice Notice(string invoice, int attempt, string? recipient = null) =>
        new(invoice, attempt, "Ann Buyer", recipient ?? "ann@example.com", 12345, "EUR", $"https://pay.example.com/invoices/{invoice}/pay?attempt={attempt}", "card_declined");

    /// <summary>The pickup folder's messages, parsed.</summary>
    public IReadOnlyList<MimeKit.MimeMessage> PickedUp() => System.IO.Directory.Exists(PickupPath)
        ? [.. System.IO.Directory.GetFiles(PickupPath, "*.eml").Order(StringComparer.Ordinal).Select(f => MimeKit.MimeMessage.Load(f))]
        : [];

    /// <summary>Runs <paramref name="sql"/> on a SQLite connection of its own (not the application's) and returns the first column of each row.</summary>
    public List<string?> Query(string sql)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={StorePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string?>();
        while (reader.Read())
            rows.Add(reader.IsDBNull(0) ? null : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
