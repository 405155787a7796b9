using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace AppRuntime.Internal;

/// <summary>Inserts configuration sources at their layer so precedence stays: defaults &lt; platform &lt; application &lt; database &lt; environment &lt; command line.</summary>
internal static class ConfigLayering
{
    private static readonly ConditionalWeakTable<IConfigurationSource, StrongBox<ConfigLayer>> s_layers = [];

    public static void Insert(IConfigurationBuilder builder, IConfigurationSource source, ConfigLayer layer)
    {
        s_layers.AddOrUpdate(source, new StrongBox<ConfigLayer>(layer));
        // After the last source of the same or a lower layer: the host's own early sources (DOTNET_ variables, host
        // command line) come first in the list, so "before the first higher layer" would put a layer too early.
        var sources = builder.Sources;
        var index = 0;
        for (var i = sources.Count - 1; i >= 0; i--)
        {
            if (LayerOf(sources[i]) <= layer)
            {
                index = i + 1;
                break;
            }
        }
        sources.Insert(index, source);
    }

    public static ConfigLayer LayerOf(IConfigurationSource source)
    {
        if (s_layers.TryGetValue(source, out var known))
            return known.Value;
        return source switch
        {
            CommandLineConfigurationSource => ConfigLayer.CommandLine,
            EnvironmentVariablesConfigurationSource => ConfigLayer.Environment,
            JsonConfigurationSource json when json.Path is not null && json.Path.StartsWith("appruntime", StringComparison.OrdinalIgnoreCase) => ConfigLayer.Platform,
            FileConfigurationSource => ConfigLayer.Application,
            _ => ConfigLayer.Defaults,
        };
    }
}
