using System;
using System.Collections.Generic;
using System.Linq;
using AppRuntime.Generators.Model;

namespace AppRuntime.Generators.Emission;

/// <summary>
/// Emits the binder of one configuration class: a private constructor that reads an IConfigurationSection member by
/// member (so property initializers keep their defaults), validates, and records every problem with its full key path.
/// </summary>
internal static class ConfigBinderEmitter
{
    private const string Config = "global::Microsoft.Extensions.Configuration.";
    private const string Invariant = "global::System.Globalization.CultureInfo.InvariantCulture";
    private const string Styles = "global::System.Globalization.NumberStyles.";

    public static string HintName(ConfigTypeModel type) => type.Type.Display + ".g.cs";

    public static string Emit(ConfigTypeModel type, IReadOnlyDictionary<string, ConfigTypeModel> allTypes)
    {
        var w = GeneratedHeader.Start();
        if (type.Namespace is not null)
            w.Open("namespace " + type.Namespace);
        foreach (var outer in type.ContainingTypes)
            w.Open(outer);
        w.Open("partial " + type.DeclarationKeyword + " " + type.ClassName);

        if (type.SectionPath is not null)
        {
            w.Line("/// <summary>The configuration section this type binds, from [ConfigSection].</summary>");
            w.Line(GeneratedHeader.GeneratedCode);
            w.Line("internal const string ConfigSectionPath = " + GeneratedHeader.Literal(type.SectionPath) + ";");
            w.Line();
            var secrets = new List<string>();
            CollectSecrets(type, "", allTypes, secrets, new HashSet<string>(StringComparer.Ordinal));
            w.Line("/// <summary>Keys under the section whose values are secrets ([Secret]).</summary>");
            w.Line(GeneratedHeader.GeneratedCode);
            w.Line("internal static readonly string[] ConfigSecretKeys = new string[] { " + string.Join(", ", secrets.Select(GeneratedHeader.Literal)) + " };");
            w.Line();
        }

        if (!type.HasAnyExplicitConstructor)
        {
            w.Line("/// <summary>Creates an instance with its default values.</summary>");
            w.Line(GeneratedHeader.GeneratedCode);
            w.Line("public " + type.ClassName + "()");
            w.Open().Close();
            w.Line();
        }

        w.Line("/// <summary>Reads <paramref name=\"section\"/> into a new instance; every problem goes to <paramref name=\"errors\"/> with its key path.</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("internal static " + type.Type.FullyQualified + " BindConfigSection(" + Config + "IConfigurationSection section, global::AppRuntime.ConfigErrors errors)");
        w.Open();
        w.Line("global::System.ArgumentNullException.ThrowIfNull(section);");
        w.Line("global::System.ArgumentNullException.ThrowIfNull(errors);");
        w.Line("return new " + type.Type.FullyQualified + "(section, errors);");
        w.Close();
        w.Line();

        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.Diagnostics.CodeAnalysis.SetsRequiredMembers]");
        w.Line("private " + type.ClassName + "(" + Config + "IConfigurationSection section, global::AppRuntime.ConfigErrors errors)");
        w.Line("    : this()");
        w.Open();
        var unset = type.Members.Where(m => m.IsRequired && !m.IsReferenceNullable && IsReferenceShape(m.Shape))
            .OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
        if (unset.Count > 0)
        {
            w.Line("// Required members start unset; a missing key is reported to errors below.");
            foreach (var member in unset)
                w.Line("this." + member.Name + " = default!;");
        }
        foreach (var member in type.Members.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            w.Line("// " + member.Name);
            w.Open();
            var s = w.Local("s");
            w.Line("var " + s + " = section.GetSection(" + GeneratedHeader.Literal(member.Name) + ");");
            BindValue(w, member.Shape, s, v => "this." + member.Name + " = " + v + ";", member, member.IsRequired, applyRules: true);
            w.Close();
        }
        w.Line("this.ValidateConfig(section, errors);");
        w.Close();
        w.Line();

        w.Line("/// <summary>");
        w.Line("/// Rules that involve several members (for example a value required only in one mode), checked after the members are bound.");
        w.Line("/// Implement this partial method to add them: report each problem with <c>errors.Add(section.GetSection(\"Member\").Path, \"...\")</c>,");
        w.Line("/// so it appears with every other configuration error at start and on reload.");
        w.Line("/// </summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("partial void ValidateConfig(" + Config + "IConfigurationSection section, global::AppRuntime.ConfigErrors errors);");

        w.Close();
        foreach (var _ in type.ContainingTypes)
            w.Close();
        if (type.Namespace is not null)
            w.Close();
        return w.ToString();
    }

    private static void CollectSecrets(ConfigTypeModel type, string prefix, IReadOnlyDictionary<string, ConfigTypeModel> allTypes, List<string> keys, HashSet<string> visiting)
    {
        if (!visiting.Add(type.Type.FullyQualified))
            return;
        foreach (var member in type.Members.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            if (member.IsSecret)
                keys.Add(prefix + member.Name);
            else if (member.Shape.Kind == ShapeKind.Object && allTypes.TryGetValue(member.Shape.ObjectKey, out var nested))
                CollectSecrets(nested, prefix + member.Name + ":", allTypes, keys, visiting);
        }
        visiting.Remove(type.Type.FullyQualified);
    }

    /// <summary>Reads the value at section variable <paramref name="s"/>; <paramref name="assign"/> turns a value expression into a statement.</summary>
    private static void BindValue(CodeWriter w, ValueShape shape, string s, Func<string, string> assign, ConfigMemberModel member, bool required, bool applyRules)
    {
        var missing = "errors.Add(" + s + ".Path, \"is required but missing.\");";
        switch (shape.Kind)
        {
            case ShapeKind.Scalar:
            {
                var text = w.Local("t");
                w.Open("if (" + s + ".Value is { } " + text + ")");
                if (shape.Scalar == ScalarKind.String)
                {
                    if (required)
                    {
                        w.Line("if (" + text + ".Trim().Length == 0)");
                        w.Line("    errors.Add(" + s + ".Path, \"is required but empty.\");");
                    }
                    if (applyRules)
                        ScalarRules(w, shape, text, s, member);
                    w.Line(assign(text));
                }
                else
                {
                    var value = w.Local("v");
                    w.Open("if (" + TryParse(shape, text, value) + ")");
                    if (applyRules)
                        ScalarRules(w, shape, value, s, member);
                    w.Line(assign(value));
                    w.Close();
                    w.Line("else");
                    var shown = member.IsSecret ? "\"the value" : "\"'\" + " + text + " + \"'";
                    w.Line("    errors.Add(" + s + ".Path, " + shown + " is not a valid " + Describe(shape) + ".\");");
                }
                w.Close();
                if (required)
                {
                    w.Line("else");
                    w.Line("    " + missing);
                }
                break;
            }
            case ShapeKind.Array:
            case ShapeKind.List:
            case ShapeKind.Dictionary:
            {
                w.Open("if (" + Config + "ConfigurationExtensions.Exists(" + s + "))");
                var items = w.Local("items");
                var element = shape.Element!;
                var dictionary = shape.Kind == ShapeKind.Dictionary;
                w.Line(dictionary
                    ? "var " + items + " = new global::System.Collections.Generic.Dictionary<string, " + element.AnnotatedType + ">(global::System.StringComparer.OrdinalIgnoreCase);"
                    : "var " + items + " = new global::System.Collections.Generic.List<" + element.AnnotatedType + ">();");
                var child = w.Local("c");
                w.Open("foreach (var " + child + " in " + s + ".GetChildren())");
                BindValue(w, element, child, v => dictionary ? items + "[" + child + ".Key] = " + v + ";" : items + ".Add(" + v + ");", member, required: false, applyRules: false);
                w.Close();
                foreach (var rule in applyRules ? member.Rules : EquatableArray<ValidationRuleModel>.Empty)
                {
                    if (rule.Kind == "MinLength")
                        Check(w, items + ".Count < " + rule.Argument1, s, "must have at least " + rule.Argument1 + " items.");
                    else if (rule.Kind == "MaxLength")
                        Check(w, items + ".Count > " + rule.Argument1, s, "must have at most " + rule.Argument1 + " items.");
                }
                w.Line(assign(shape.Kind == ShapeKind.Array ? items + ".ToArray()" : items));
                w.Close();
                if (required)
                {
                    w.Line("else");
                    w.Line("    " + missing);
                }
                break;
            }
            case ShapeKind.Object:
            {
                w.Line("if (" + Config + "ConfigurationExtensions.Exists(" + s + "))");
                w.Line("    " + assign(shape.TypeFullyQualified + ".BindConfigSection(" + s + ", errors)"));
                if (required)
                {
                    w.Line("else");
                    w.Line("    " + missing);
                }
                break;
            }
        }
    }

    private static void ScalarRules(CodeWriter w, ValueShape shape, string value, string s, ConfigMemberModel member)
    {
        foreach (var rule in member.Rules)
        {
            switch (rule.Kind)
            {
                case "Range" when IsNumeric(shape.Scalar):
                    Check(w, "(double)" + value + " < " + rule.Argument1 + " || (double)" + value + " > " + rule.Argument2, s,
                        "must be between " + rule.Argument1!.TrimEnd('d') + " and " + rule.Argument2!.TrimEnd('d') + ".");
                    break;
                case "RangeTimeSpan" when shape.Scalar == ScalarKind.TimeSpan:
                    Check(w, value + " < global::System.TimeSpan.Parse(" + GeneratedHeader.Literal(rule.Argument1!) + ", " + Invariant + ") || " + value +
                        " > global::System.TimeSpan.Parse(" + GeneratedHeader.Literal(rule.Argument2!) + ", " + Invariant + ")", s,
                        "must be between " + rule.Argument1 + " and " + rule.Argument2 + ".");
                    break;
                case "Regex" when shape.Scalar == ScalarKind.String:
                {
                    Check(w, "!global::System.Text.RegularExpressions.Regex.IsMatch(" + value + ", " + rule.Argument1 +
                        ", global::System.Text.RegularExpressions.RegexOptions.CultureInvariant, global::System.TimeSpan.FromSeconds(1))",
                        s, "does not match the pattern " + rule.Argument2 + ".");
                    break;
                }
                case "Url" when shape.Scalar == ScalarKind.String:
                    Check(w, "!(global::System.Uri.TryCreate(" + value + ", global::System.UriKind.Absolute, out var " + value + "u) && " + value +
                        "u.Scheme is \"http\" or \"https\" or \"ftp\")", s, "must be an absolute http, https or ftp URL.");
                    break;
                case "Url" when shape.Scalar == ScalarKind.Uri:
                    Check(w, "!(" + value + ".IsAbsoluteUri && " + value + ".Scheme is \"http\" or \"https\" or \"ftp\")", s,
                        "must be an absolute http, https or ftp URL.");
                    break;
                case "Email" when shape.Scalar == ScalarKind.String:
                    Check(w, "!(" + value + ".IndexOf('@') > 0 && " + value + ".IndexOf('@') == " + value + ".LastIndexOf('@') && " + value +
                        ".IndexOf('@') < " + value + ".Length - 1)", s, "must be an email address.");
                    break;
                case "MinLength" when shape.Scalar == ScalarKind.String:
                    Check(w, value + ".Length < " + rule.Argument1, s, "must be at least " + rule.Argument1 + " characters long.");
                    break;
                case "MaxLength" when shape.Scalar == ScalarKind.String:
                    Check(w, value + ".Length > " + rule.Argument1, s, "must be at most " + rule.Argument1 + " characters long.");
                    break;
            }
        }
    }

    private static void Check(CodeWriter w, string condition, string s, string message)
    {
        w.Line("if (" + condition + ")");
        w.Line("    errors.Add(" + s + ".Path, " + GeneratedHeader.Literal(message) + ");");
    }

    private static bool IsReferenceShape(ValueShape shape) => !shape.IsNullableValue &&
        (shape.Kind != ShapeKind.Scalar || shape.Scalar is ScalarKind.String or ScalarKind.Uri);

    private static bool IsNumeric(ScalarKind kind) => kind is ScalarKind.Byte or ScalarKind.SByte or ScalarKind.Int16 or ScalarKind.UInt16
        or ScalarKind.Int32 or ScalarKind.UInt32 or ScalarKind.Int64 or ScalarKind.UInt64 or ScalarKind.Single or ScalarKind.Double or ScalarKind.Decimal;

    private static string Describe(ValueShape shape) => shape.Scalar switch
    {
        ScalarKind.Enum => "value of " + shape.TypeFullyQualified.Replace("global::", "") + " (case-insensitive name)",
        ScalarKind.TimeSpan => "TimeSpan (e.g. 00:00:30)",
        ScalarKind.DateOnly => "DateOnly (yyyy-MM-dd, e.g. 2030-01-31)",
        ScalarKind.TimeOnly => "TimeOnly (HH:mm or HH:mm:ss, e.g. 07:30)",
        _ => shape.Scalar.ToString(),
    };

    private static string TryParse(ValueShape shape, string text, string value)
    {
        var t = shape.TypeFullyQualified;
        return shape.Scalar switch
        {
            ScalarKind.Boolean => "bool.TryParse(" + text + ", out var " + value + ")",
            ScalarKind.Char => "char.TryParse(" + text + ", out var " + value + ")",
            ScalarKind.Byte or ScalarKind.SByte or ScalarKind.Int16 or ScalarKind.UInt16 or ScalarKind.Int32 or ScalarKind.UInt32
                or ScalarKind.Int64 or ScalarKind.UInt64 =>
                t + ".TryParse(" + text + ", " + Styles + "Integer, " + Invariant + ", out var " + value + ")",
            ScalarKind.Single or ScalarKind.Double =>
                t + ".TryParse(" + text + ", " + Styles + "Float | " + Styles + "AllowThousands, " + Invariant + ", out var " + value + ")",
            ScalarKind.Decimal => t + ".TryParse(" + text + ", " + Styles + "Number, " + Invariant + ", out var " + value + ")",
            ScalarKind.DateTime => "global::System.DateTime.TryParse(" + text + ", " + Invariant + ", global::System.Globalization.DateTimeStyles.RoundtripKind, out var " + value + ")",
            ScalarKind.DateTimeOffset => "global::System.DateTimeOffset.TryParse(" + text + ", " + Invariant + ", global::System.Globalization.DateTimeStyles.None, out var " + value + ")",
            ScalarKind.TimeSpan => "global::System.TimeSpan.TryParse(" + text + ", " + Invariant + ", out var " + value + ")",
            ScalarKind.DateOnly => "global::System.DateOnly.TryParseExact(" + text + ", \"yyyy'-'MM'-'dd\", " + Invariant + ", global::System.Globalization.DateTimeStyles.None, out var " + value + ")",
            ScalarKind.TimeOnly => "global::System.TimeOnly.TryParseExact(" + text + ", new[] { \"HH':'mm':'ss.FFFFFFF\", \"HH':'mm\" }, " + Invariant + ", global::System.Globalization.DateTimeStyles.None, out var " + value + ")",
            ScalarKind.Guid => "global::System.Guid.TryParse(" + text + ", out var " + value + ")",
            ScalarKind.Uri => "global::System.Uri.TryCreate(" + text + ", global::System.UriKind.RelativeOrAbsolute, out var " + value + ")",
            ScalarKind.Enum => "global::System.Enum.TryParse<" + t + ">(" + text + ", true, out var " + value + ") && global::System.Enum.IsDefined(" + value + ")",
            _ => throw new InvalidOperationException("Unexpected scalar " + shape.Scalar),
        };
    }
}
