using System;
using System.Collections.Generic;
using System.Globalization;
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
                        var name = segments[unknownAt];
                        var readOnly = owner?.ReadOnlyMembers.FirstOrDefault(m => string.Equals(m, name, StringComparison.OrdinalIgnoreCase));
                        if (readOnly is not null)
                        {
                            yield return DiagnosticInfo.Create(DiagnosticIds.ReadOnlyConfigMember, key.Location, key.Path, file.FileName, readOnly,
                                owner!.Type.Display);
                            continue;
                        }
                        var suggestion = Suggest(name, owner);
                        yield return DiagnosticInfo.Create(DiagnosticIds.UnknownConfigKey, key.Location, key.Path, file.FileName,
                            owner?.Type.Display ?? root.Type.Display, suggestion is null ? "" : "; did you mean '" + suggestion + "'?");
                        continue;
                    }
                    if (unknownAt >= 0)
                        continue;
                    var (member, memberOwner, shape) = Leaf(root, segments, types);
                    if (shape is not null && CheckValue(key, file.FileName, shape, member, memberOwner) is { } problem)
                        yield return problem;
                }
            }
        }
    }

    /// <summary>
    /// Checks the platform's own keys that name the module's declarations: <c>AppRuntime:Queues:&lt;queue&gt;</c> and
    /// <c>AppRuntime:Pools:&lt;queue&gt;</c> must name a declared queue or pool, backends must be known, worker counts (there, or at a
    /// pool's WorkersConfigKey) whole numbers from 1 to 1024 — as the runtime checks them at start.
    /// </summary>
    public static IEnumerable<DiagnosticInfo> ValidatePlatform(List<AppSettingsModel> files, string module, List<string> queues, List<string> pools,
        IEnumerable<string> workerKeys, CompilationFacts facts)
    {
        var workerKeySet = new HashSet<string>(workerKeys, StringComparer.OrdinalIgnoreCase);
        foreach (var file in files.Where(f => f.ParseError is null).OrderBy(f => f.FileName, StringComparer.OrdinalIgnoreCase))
        {
            foreach (var key in file.Keys)
            {
                var segments = key.Path.Split(':');
                if (!string.Equals(segments[0], "AppRuntime", StringComparison.OrdinalIgnoreCase))
                {
                    if (workerKeySet.Contains(key.Path) && WorkerCount(key, file.FileName, "a pool's WorkersConfigKey") is { } pooled)
                        yield return pooled;
                    continue;
                }
                if (segments.Length == 2 && string.Equals(segments[1], "DefaultBackend", StringComparison.OrdinalIgnoreCase) &&
                    Backend(key, file.FileName, facts) is { } defaultBackend)
                {
                    yield return defaultBackend;
                    continue;
                }
                if (segments.Length < 3)
                    continue;
                var isQueues = string.Equals(segments[1], "Queues", StringComparison.OrdinalIgnoreCase);
                var isPools = string.Equals(segments[1], "Pools", StringComparison.OrdinalIgnoreCase);
                if (!isQueues && !isPools)
                    continue;
                var names = isQueues ? queues : pools;
                if (segments.Length == 3)
                {
                    if (!names.Contains(segments[2], StringComparer.Ordinal))
                    {
                        yield return DiagnosticInfo.Create(DiagnosticIds.UndeclaredQueueInSettings, key.Location, key.Path, file.FileName,
                            isQueues ? "queue" : "worker pool", segments[2], module, NameSuggestion.DidYouMean(segments[2], names));
                    }
                    continue;
                }
                if (segments.Length != 4 || !names.Contains(segments[2], StringComparer.Ordinal))
                    continue;
                if (isQueues && string.Equals(segments[3], "Backend", StringComparison.OrdinalIgnoreCase) && Backend(key, file.FileName, facts) is { } backend)
                    yield return backend;
                if (isPools && string.Equals(segments[3], "Workers", StringComparison.OrdinalIgnoreCase) &&
                    WorkerCount(key, file.FileName, "the workers of pool '" + segments[2] + "'") is { } workers)
                    yield return workers;
            }
        }
    }

    private static DiagnosticInfo? Backend(JsonKeyModel key, string file, CompilationFacts facts)
    {
        if (!facts.BackendsKnown || key.Kind != SettingKind.String || key.Value is not { } name ||
            facts.Backends.Contains(name, StringComparer.OrdinalIgnoreCase))
            return null;
        return DiagnosticInfo.Create(DiagnosticIds.UnknownBackend, key.ValueLocation ?? key.Location, "Key '" + key.Path + "' in " + file, name,
            NameSuggestion.DidYouMean(name, facts.Backends), string.Join(", ", facts.Backends));
    }

    private static DiagnosticInfo? WorkerCount(JsonKeyModel key, string file, string what)
    {
        if (key.Kind is SettingKind.Null)
            return null;
        var location = key.ValueLocation ?? key.Location;
        if (key.Kind is SettingKind.Object or SettingKind.Array || !int.TryParse(key.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var workers))
            return DiagnosticInfo.Create(DiagnosticIds.InvalidConfigValue, location, key.Path, file, Show(key, false), "worker count (a whole number)", what);
        return workers is >= 1 and <= 1024
            ? null
            : DiagnosticInfo.Create(DiagnosticIds.ConfigValueOutOfRange, location, key.Path, file, Show(key, false), what, "must be from 1 to 1024");
    }

    /// <summary>The member (or collection element) a key with no unknown segment ends at, and the shape its value must have.</summary>
    private static (ConfigMemberModel? Member, ConfigTypeModel? Owner, ValueShape? Shape) Leaf(ConfigTypeModel root, string[] segments,
        Dictionary<string, ConfigTypeModel> types)
    {
        ConfigMemberModel? member = null;
        ConfigTypeModel? memberOwner = null;
        ValueShape? shape = null;
        var owner = root;
        for (var i = 0; i < segments.Length; i++)
        {
            if (shape is null)
            {
                member = owner.Members.FirstOrDefault(m => string.Equals(m.Name, segments[i], StringComparison.OrdinalIgnoreCase));
                if (member is null)
                    return (null, null, null);
                memberOwner = owner;
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
                case ShapeKind.Dictionary:
                    member = null; // an element: the member's own rules do not apply to it
                    shape = shape.Element;
                    if (shape is { Kind: ShapeKind.Object } && types.TryGetValue(shape.ObjectKey, out var element) && i < segments.Length - 1)
                    {
                        owner = element;
                        shape = null;
                    }
                    break;
                default:
                    return (null, null, null);
            }
        }
        return (member, memberOwner, shape);
    }

    /// <summary>A value the generated binder would refuse at start: the wrong JSON kind, text that does not parse, a broken range rule.</summary>
    private static DiagnosticInfo? CheckValue(JsonKeyModel key, string file, ValueShape shape, ConfigMemberModel? member, ConfigTypeModel? owner)
    {
        if (key.Kind == SettingKind.Null)
            return null;
        var location = key.ValueLocation ?? key.Location;
        var secret = member?.IsSecret == true;
        var target = member is null ? "an element of '" + key.Path.Substring(0, key.Path.LastIndexOf(':')) + "'" : owner!.Type.Display + "." + member.Name;
        if (shape.Kind != ShapeKind.Scalar)
        {
            // A section (object, list, dictionary) given a plain value binds nothing.
            return key.Kind is SettingKind.Object or SettingKind.Array
                ? null
                : DiagnosticInfo.Create(DiagnosticIds.InvalidConfigValue, location, key.Path, file, Show(key, secret),
                    shape.Kind == ShapeKind.Object ? "section (an object)" : "list or dictionary (an array or an object)", target);
        }
        if (key.Kind is SettingKind.Object or SettingKind.Array)
            return DiagnosticInfo.Create(DiagnosticIds.InvalidConfigValue, location, key.Path, file, Show(key, secret), Expected(shape), target);
        var text = key.Value ?? "";
        if (!Parses(shape, text, member))
            return DiagnosticInfo.Create(DiagnosticIds.InvalidConfigValue, location, key.Path, file, Show(key, secret), Expected(shape), target);
        if (member is null)
            return null;
        foreach (var rule in member.Rules)
        {
            var broken = rule.Kind switch
            {
                "Range" when double.TryParse(text, NumberStyles.Float | NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var number) =>
                    number < Bound(rule.Argument1) || number > Bound(rule.Argument2)
                        ? "must be between " + rule.Argument1!.TrimEnd('d') + " and " + rule.Argument2!.TrimEnd('d')
                        : null,
                "RangeTimeSpan" when TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) =>
                    span < TimeSpan.Parse(rule.Argument1!, CultureInfo.InvariantCulture) || span > TimeSpan.Parse(rule.Argument2!, CultureInfo.InvariantCulture)
                        ? "must be between " + rule.Argument1 + " and " + rule.Argument2
                        : null,
                "MinLength" when shape.Scalar == ScalarKind.String && text.Length < int.Parse(rule.Argument1!, CultureInfo.InvariantCulture) =>
                    "must be at least " + rule.Argument1 + " characters long",
                "MaxLength" when shape.Scalar == ScalarKind.String && text.Length > int.Parse(rule.Argument1!, CultureInfo.InvariantCulture) =>
                    "must be at most " + rule.Argument1 + " characters long",
                _ => null,
            };
            if (broken is not null)
                return DiagnosticInfo.Create(DiagnosticIds.ConfigValueOutOfRange, location, key.Path, file, Show(key, secret), target, broken);
        }
        return null;
    }

    private static double Bound(string? literal) => double.Parse(literal!.TrimEnd('d'), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static string Show(JsonKeyModel key, bool secret) => secret ? "a value" : key.Kind switch
    {
        SettingKind.Object => "an object",
        SettingKind.Array => "an array",
        SettingKind.String => "\"" + key.Value + "\"",
        SettingKind.Boolean => key.Value!.ToLowerInvariant(),
        _ => key.Value ?? "null",
    };

    private static readonly string[] s_timeOnlyFormats = ["HH':'mm':'ss.FFFFFFF", "HH':'mm"];

    private static string Expected(ValueShape shape) => shape.Scalar switch
    {
        ScalarKind.Enum => "name of " + shape.TypeFullyQualified.Replace("global::", ""),
        ScalarKind.TimeSpan => "TimeSpan (e.g. \"00:00:30\")",
        ScalarKind.DateOnly => "DateOnly (e.g. \"2030-01-31\")",
        ScalarKind.TimeOnly => "TimeOnly (e.g. \"07:30\")",
        ScalarKind.DateTime or ScalarKind.DateTimeOffset => shape.Scalar + " (e.g. \"2030-01-31T12:00:00Z\")",
        ScalarKind.Boolean => "Boolean (true or false)",
        _ => shape.Scalar.ToString(),
    };

    /// <summary>Parses as the generated binder does (invariant culture; enums by name, case-insensitively).</summary>
    private static bool Parses(ValueShape shape, string text, ConfigMemberModel? member)
    {
        const NumberStyles Integer = NumberStyles.Integer;
        var invariant = CultureInfo.InvariantCulture;
        switch (shape.Scalar)
        {
            case ScalarKind.String:
                return true;
            case ScalarKind.Boolean:
                return bool.TryParse(text, out _);
            case ScalarKind.Char:
                return text.Length == 1;
            case ScalarKind.Byte:
                return byte.TryParse(text, Integer, invariant, out _);
            case ScalarKind.SByte:
                return sbyte.TryParse(text, Integer, invariant, out _);
            case ScalarKind.Int16:
                return short.TryParse(text, Integer, invariant, out _);
            case ScalarKind.UInt16:
                return ushort.TryParse(text, Integer, invariant, out _);
            case ScalarKind.Int32:
                return int.TryParse(text, Integer, invariant, out _);
            case ScalarKind.UInt32:
                return uint.TryParse(text, Integer, invariant, out _);
            case ScalarKind.Int64:
                return long.TryParse(text, Integer, invariant, out _);
            case ScalarKind.UInt64:
                return ulong.TryParse(text, Integer, invariant, out _);
            case ScalarKind.Single:
            case ScalarKind.Double:
                return double.TryParse(text, NumberStyles.Float | NumberStyles.AllowThousands, invariant, out _);
            case ScalarKind.Decimal:
                return decimal.TryParse(text, NumberStyles.Number, invariant, out _);
            case ScalarKind.DateTime:
                return DateTime.TryParse(text, invariant, DateTimeStyles.RoundtripKind, out _);
            case ScalarKind.DateTimeOffset:
                return DateTimeOffset.TryParse(text, invariant, DateTimeStyles.None, out _);
            case ScalarKind.TimeSpan:
                return TimeSpan.TryParse(text, invariant, out _);
            case ScalarKind.DateOnly: // the formats the generated binder accepts (DateOnly and TimeOnly do not exist where the generator runs)
                return DateTime.TryParseExact(text, "yyyy'-'MM'-'dd", invariant, DateTimeStyles.None, out _);
            case ScalarKind.TimeOnly:
                return DateTime.TryParseExact(text, s_timeOnlyFormats, invariant, DateTimeStyles.None, out _);
            case ScalarKind.Guid:
                return Guid.TryParse(text, out _);
            case ScalarKind.Uri:
                return Uri.TryCreate(text, UriKind.RelativeOrAbsolute, out _);
            case ScalarKind.Enum:
                // By name (case-insensitive) or by number, as Enum.TryParse; a number's definedness is left to the start-up check.
                var names = member?.EnumNames ?? EquatableArray<string>.Empty;
                return names.IsEmpty || long.TryParse(text, Integer, invariant, out _) ||
                    text.Split(',').All(part => names.Contains(part.Trim(), StringComparer.OrdinalIgnoreCase));
            default:
                return true;
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
            var d = NameSuggestion.Distance(key.ToLowerInvariant(), member.Name.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = member.Name;
            }
        }
        return bestDistance <= Math.Max(1, key.Length / 3) ? best : null;
    }
}
