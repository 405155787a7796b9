using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using AppRuntime.Generators.Diagnostics;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace AppRuntime.Generators.Parsing;

/// <summary>
/// Reads appsettings*.json passed as AdditionalFiles into flattened configuration keys (as Microsoft.Extensions.Configuration
/// flattens them: objects by property name, arrays by index, ':' between levels), each with the location of its name.
/// A small tolerant reader (comments and trailing commas allowed, like the JSON configuration provider) keeps the
/// analyzer free of a System.Text.Json dependency the compiler might not load.
/// </summary>
internal static class AppSettingsParser
{
    public static bool IsAppSettings(AdditionalText text)
    {
        var name = Path.GetFileName(text.Path);
        return name.StartsWith("appsettings", StringComparison.OrdinalIgnoreCase) &&
            name.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
    }

    public static AppSettingsModel Parse(AdditionalText file, CancellationToken ct)
    {
        var name = Path.GetFileName(file.Path);
        var text = file.GetText(ct);
        if (text is null)
            return new AppSettingsModel(name, EquatableArray<JsonKeyModel>.Empty, null);
        var keys = new List<JsonKeyModel>();
        var reader = new Reader(text.ToString(), file.Path, text, keys);
        try
        {
            reader.ParseDocument();
            return new AppSettingsModel(name, keys.ToEquatableArray(), null);
        }
        catch (FormatException ex)
        {
            var at = Math.Min(reader.Position, Math.Max(0, text.Length - 1));
            var span = new TextSpan(at, text.Length == 0 ? 0 : 1);
            var location = new LocationInfo(file.Path, span, text.Lines.GetLinePositionSpan(span));
            return new AppSettingsModel(name, EquatableArray<JsonKeyModel>.Empty,
                DiagnosticInfo.Create(DiagnosticIds.InvalidSettingsFile, location, name, ex.Message));
        }
    }

    private sealed class Reader(string json, string path, SourceText text, List<JsonKeyModel> keys)
    {
        private int _pos;

        public int Position => _pos;

        public void ParseDocument()
        {
            Skip();
            if (_pos >= json.Length)
                return;
            if (json[_pos] != '{')
                throw Error("the root must be an object");
            ParseValue(null, 0);
            Skip();
            if (_pos < json.Length)
                throw Error("unexpected text after the root object");
        }

        /// <summary>The location from <paramref name="start"/> to the current position (a value just read).</summary>
        private LocationInfo Span(int start)
        {
            var span = new TextSpan(start, Math.Max(0, _pos - start));
            return new LocationInfo(path, span, text.Lines.GetLinePositionSpan(span));
        }

        /// <summary>Reads one value; returns its kind and, for a string, number or boolean, its text (as the configuration holds it).</summary>
        private (SettingKind Kind, string? Value) ParseValue(string? prefix, int depth)
        {
            if (depth > 64)
                throw Error("nesting is too deep");
            Skip();
            if (_pos >= json.Length)
                throw Error("unexpected end of file");
            var c = json[_pos];
            if (c == '{')
            {
                _pos++;
                Skip();
                if (Peek('}'))
                {
                    _pos++;
                    return (SettingKind.Object, null);
                }
                while (true)
                {
                    Skip();
                    if (Peek('}'))
                    {
                        _pos++;
                        return (SettingKind.Object, null);
                    }
                    var start = _pos;
                    var name = ReadString();
                    var span = new TextSpan(start, _pos - start);
                    var key = prefix is null ? name : prefix + ":" + name;
                    var index = keys.Count;
                    keys.Add(new JsonKeyModel(key, new LocationInfo(path, span, text.Lines.GetLinePositionSpan(span))));
                    Skip();
                    Expect(':');
                    Skip();
                    var valueStart = _pos;
                    var (kind, value) = ParseValue(key, depth + 1);
                    keys[index] = keys[index] with { Kind = kind, Value = value, ValueLocation = Span(valueStart) };
                    Skip();
                    if (Peek(','))
                    {
                        _pos++;
                        continue;
                    }
                    Expect('}');
                    return (SettingKind.Object, null);
                }
            }
            if (c == '[')
            {
                _pos++;
                var index = 0;
                while (true)
                {
                    Skip();
                    if (Peek(']'))
                    {
                        _pos++;
                        return (SettingKind.Array, null);
                    }
                    var start = _pos;
                    var key = (prefix ?? "") + ":" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var span = new TextSpan(start, 1);
                    var at = keys.Count;
                    keys.Add(new JsonKeyModel(key, new LocationInfo(path, span, text.Lines.GetLinePositionSpan(span))));
                    var (kind, value) = ParseValue(key, depth + 1);
                    keys[at] = keys[at] with { Kind = kind, Value = value, ValueLocation = Span(start) };
                    index++;
                    Skip();
                    if (Peek(','))
                    {
                        _pos++;
                        continue;
                    }
                    Expect(']');
                    return (SettingKind.Array, null);
                }
            }
            if (c == '"')
                return (SettingKind.String, ReadString());
            var literalStart = _pos;
            while (_pos < json.Length && (char.IsLetterOrDigit(json[_pos]) || json[_pos] is '-' or '+' or '.'))
                _pos++;
            if (_pos == literalStart)
                throw Error("unexpected character '" + c + "'");
            var literal = json.Substring(literalStart, _pos - literalStart);
            return literal switch
            {
                "true" => (SettingKind.Boolean, "True"),
                "false" => (SettingKind.Boolean, "False"),
                "null" => (SettingKind.Null, null),
                _ => (SettingKind.Number, literal),
            };
        }

        private string ReadString()
        {
            Expect('"');
            var sb = new StringBuilder();
            while (_pos < json.Length)
            {
                var c = json[_pos++];
                if (c == '"')
                    return sb.ToString();
                if (c == '\\')
                {
                    if (_pos >= json.Length)
                        break;
                    var e = json[_pos++];
                    switch (e)
                    {
                        case 'n': sb.Append('\n'); break;
                        case 't': sb.Append('\t'); break;
                        case 'r': sb.Append('\r'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'u' when _pos + 4 <= json.Length:
                            sb.Append((char)Convert.ToInt32(json.Substring(_pos, 4), 16));
                            _pos += 4;
                            break;
                        default: sb.Append(e); break;
                    }
                    continue;
                }
                sb.Append(c);
            }
            throw Error("unterminated string");
        }

        private void Skip()
        {
            while (_pos < json.Length)
            {
                var c = json[_pos];
                if (char.IsWhiteSpace(c) || c == '\uFEFF')
                {
                    _pos++;
                }
                else if (c == '/' && _pos + 1 < json.Length && json[_pos + 1] == '/')
                {
                    while (_pos < json.Length && json[_pos] != '\n')
                        _pos++;
                }
                else if (c == '/' && _pos + 1 < json.Length && json[_pos + 1] == '*')
                {
                    var end = json.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
                    if (end < 0)
                        throw Error("unterminated comment");
                    _pos = end + 2;
                }
                else
                {
                    return;
                }
            }
        }

        private bool Peek(char c) => _pos < json.Length && json[_pos] == c;

        private void Expect(char c)
        {
            if (!Peek(c))
                throw Error("expected '" + c + "'");
            _pos++;
        }

        private FormatException Error(string message)
        {
            var line = text.Lines.GetLinePosition(Math.Min(_pos, text.Length));
            return new FormatException(message + " at line " + (line.Line + 1) + ", column " + (line.Character + 1));
        }
    }
}
