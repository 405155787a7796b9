using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;

namespace AppRuntime.Configuration.Tests;

/// <summary>Fixed values at a chosen layer (the built-in defaults of an application, for instance).</summary>
internal sealed class MemoryConfigProvider(ConfigLayer layer, Dictionary<string, string?> values) : IConfigProvider
{
    public string Name => "memory:" + layer;

    public ConfigLayer Layer => layer;

    public IConfigurationSource CreateSource() => new MemoryConfigurationSource { InitialData = values };
}
