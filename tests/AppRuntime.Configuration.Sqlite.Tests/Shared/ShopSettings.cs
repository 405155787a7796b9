using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace AppRuntime.Configuration.Tests;

/// <summary>A settings type with a hand-written binder of the kind the generator emits: every problem reported with its key path.</summary>
internal sealed class ShopSettings
{
    public const string Path = "Shop";

    public required string Host { get; init; }
    public int Port { get; init; }
    public int Workers { get; init; }
    public string? Password { get; init; }

    public static ShopSettings Bind(IConfigurationSection section, ConfigErrors errors)
    {
        var host = section["Host"];
        if (string.IsNullOrWhiteSpace(host))
            errors.Add(section.Path + ":Host", "is required");
        var port = 443;
        if (section["Port"] is { } p && (!int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            errors.Add(section.Path + ":Port", $"must be a whole number from 1 to 65535 (was '{p}')");
        var workers = 1;
        if (section["Workers"] is { } w && (!int.TryParse(w, NumberStyles.Integer, CultureInfo.InvariantCulture, out workers) || workers is < 1 or > 64))
            errors.Add(section.Path + ":Workers", $"must be a whole number from 1 to 64 (was '{w}')");
        var password = section["Password"];
        if (password is { Length: < 8 })
            errors.Add(section.Path + ":Password", $"must be at least 8 characters (was '{password}')");
        return new ShopSettings { Host = host ?? "", Port = port, Workers = workers, Password = password };
    }

    public static ConfigSectionDefinition<ShopSettings> Definition => new(Path, Bind) { SecretKeys = ["Password"] };
}
