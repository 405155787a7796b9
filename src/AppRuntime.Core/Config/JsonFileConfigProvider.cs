using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;

namespace AppRuntime;

/// <summary>A JSON file loader (seed: file config loader) that reloads when the file changes.</summary>
public sealed class JsonFileConfigProvider : IConfigProvider
{
    /// <summary>Creates a loader for <paramref name="path"/> at <paramref name="layer"/>.</summary>
    /// <param name="path">The file, absolute or relative to the current directory.</param>
    /// <param name="layer">Its precedence layer.</param>
    /// <param name="optional">When true a missing file is an empty layer; otherwise start fails naming the file.</param>
    /// <param name="reloadOnChange">Watch the file and reload when it changes.</param>
    public JsonFileConfigProvider(string path, ConfigLayer layer = ConfigLayer.Application, bool optional = false, bool reloadOnChange = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FullPath = Path.GetFullPath(path);
        Layer = layer;
        Optional = optional;
        ReloadOnChange = reloadOnChange;
    }

    /// <summary>The file's full path.</summary>
    public string FullPath { get; }

    /// <summary>True when a missing file is allowed.</summary>
    public bool Optional { get; }

    /// <summary>True when changes are watched.</summary>
    public bool ReloadOnChange { get; }

    /// <inheritdoc />
    public string Name => "file:" + FullPath;

    /// <inheritdoc />
    public ConfigLayer Layer { get; }

    /// <inheritdoc />
    public IConfigurationSource CreateSource()
    {
        var directory = Path.GetDirectoryName(FullPath)!;
        Directory.CreateDirectory(directory);
        return new JsonConfigurationSource
        {
            Path = Path.GetFileName(FullPath),
            Optional = Optional,
            ReloadOnChange = ReloadOnChange,
            ReloadDelay = 50,
            FileProvider = new PhysicalFileProvider(directory),
        };
    }
}
