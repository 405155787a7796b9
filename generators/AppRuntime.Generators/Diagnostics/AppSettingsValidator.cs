using System;
using System.Collections.Generic;
using System.Linq;
using AppRuntime.Generators.Model;

namespace AppRuntime.Generators.Diagnostics;

/// <summary>Checks declared configuration sections against appsettings*.json: missing required keys and unknown keys (typos).</summary>
internal static class AppSettingsValidator
{
    /// <param name="sections">The declared sections.</param>
    /// <param name="files">The parsed appsettings*.json files.</param>
    /// <param name="runtimeKeys">Keys the runtime reads itself (a pool's <c>WorkersConfigKey</c>): never unknown, even under a section.</param>
    public static IEnumerable<DiagnosticInfo> Validate(List<ConfigSectionModel> sections, List<AppSettingsModel> files, IEnumerable<string> runtimeKeys)
    {
        var known = new HashSet<string>(runtimeKeys, StringComparer.OrdinalIgnoreCase);
        var readable = files.Where(f => f.ParseError is null).OrderBy(f => f.FileName, StringComparer.OrdinalIgnoreCase).ToList();
        if (readable.Count == 0)
            yield break;
        var fileList = string.Join(", ", readable.Select(f => f.FileName));
        var allKeys = new HashSet<string>(readable.SelectMany(f => f.Keys).Select(k => k.Path), StringComparer.OrdinalIgnoreCase);

        foreach (var section in sections.Where(s => s.CanEmit))
        {
            var types = section.Types.ToDictionary(t => t.Type.FullyQualified, StringComparer.Ordinal);
            if (!types.TryGetValue(section.Type.FullyQualified, out var root))
                continue;

            foreach (var missing in MissingRequired(root, section.Path, types, allKeys, new HashSet<string>(StringComparer.Ordinal)))
                yield return DiagnosticInfo.Create(DiagnosticIds.MissingRequiredKey, missing.Location, missing.Key, fileList);

            var prefix = section.Path + ":";
            foreach (var file in readable)
            {
                foreach (var key in file.Keys)
                {
                    if (!key.Path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || known.Contains(key.Path))
                        continue;
                    var segments = key.Path.Substring(prefix.Length).Split(':');
                    var (unknownAt, owner) = Resolve(root, segments, types);
                    if (unknownAt == segments.Length - 1)
                    {
                        var suggestion = Suggest(segments[unknownAt], owner);
                        yield return DiagnosticInfo.Create(DiagnosticIds.UnknownConfigKey, key.Location, key.Path, file.FileName,
                            owner?.Type.Display ?? root.Type.Display, suggestion is null ? "" : "; did you mean '" + suggestion + "'?");
                    }
                }
            }
        }
    }

    private static IEnumerable<(string Key, LocationInfo? Location)> MissingRequired(ConfigTypeModel type, string path,
        Dictionary<string, ConfigTypeModel> types, HashSet<string> keys, HashSet<string> visiting)
    {
        if (!visiting.Add(type.Type.FullyQualified))
            yield break;
        foreach (var member in type.Members)
        {
            var key = path + ":" + member.Name;
            var present = keys.Contains(key) || keys.Any(k => k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));
            if (!present)
            {
                if (member.IsRequired)
                    yield return (key, member.Location);
                continue;
            }
            if (member.Shape.Kind == ShapeKind.Object && types.TryGetValue(member.Shape.ObjectKey, out var nested))
            {
                foreach (var inner in MissingRequired(nested, key, types, keys, visiting))
                    yield return inner;
            }
        }
        visiting.Remove(type.Type.FullyQualified);
    }

    /// <summary>Walks the member tree; returns the index of the first segment that matches nothing (or -1) and its owner type.</summary>
    private static (int, ConfigTypeModel?) Resolve(ConfigTypeModel root, string[] segments, Dictionary<string, ConfigTypeModel> types)
    {
        ValueShape? shape = null;
        var owner = root;
        for (var i = 0; i < segments.Length; i++)
        {
            if (shape is null)
            {
                var member = owner.Members.FirstOrDefault(m => string.Equals(m.Name, segments[i], StringComparison.OrdinalIgnoreCase));
                if (member is null)
                    return (i, owner);
                shape = member.Shape;
                continue;
            }
            switch (shape.Kind)
            {
                case ShapeKind.Object when types.TryGetValue(shape.ObjectKey, out var nested):
                    owner = nested;
                    shape = null;
                    i--;
                    break;
                case ShapeKind.Array:
                case ShapeKind.List:
                    if (!int.TryParse(segments[i], out _))
                        return (i, null);
                    shape = Unwrap(shape.Element!, types, ref owner);
                    break;
                case ShapeKind.Dictionary:
                    shape = Unwrap(shape.Element!, types, ref owner);
                    break;
                default:
                    return (i, null);
            }
        }
        return (-1, null);
    }

    private static ValueShape? Unwrap(ValueShape element, Dictionary<string, ConfigTypeModel> types, ref ConfigTypeModel owner)
    {
        if (element.Kind == ShapeKind.Object && types.TryGetValue(element.ObjectKey, out var nested))
        {
            owner = nested;
            return null;
        }
        return element;
    }

    private static string? Suggest(string key, ConfigTypeModel? owner)
    {
        if (owner is null)
            return null;
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var member in owner.Members)
        {
            var d = Distance(key.ToLowerInvariant(), member.Name.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = member.Name;
            }
        }
        return bestDistance <= Math.Max(1, key.Length / 3) ? best : null;
    }

    /// <summary>Edit distance counting a swap of two neighbours as one edit (Prot → Port).</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
