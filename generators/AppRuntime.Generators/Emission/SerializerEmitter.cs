using System;
using System.Collections.Generic;
using System.Linq;
using AppRuntime.Generators.Model;

namespace AppRuntime.Generators.Emission;

/// <summary>
/// Emits a reflection-free <c>TaskSerializer&lt;T&gt;</c> per task type: Utf8JsonWriter to write, JsonDocument/JsonElement to
/// read, camelCase property names, enums as names. The System.Text.Json source generator cannot be used because it
/// does not see another generator's output.
/// </summary>
internal static class SerializerEmitter
{
    private const string Json = "global::System.Text.Json.";

    public static string ClassName(TypeRef taskType)
    {
        var chars = taskType.Display.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray();
        return "TaskSerializer_" + new string(chars);
    }

    public static void Emit(CodeWriter w, TypeRef taskType, SerializerModel model)
    {
        var objects = model.Objects.ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < objects.Count; i++)
            index[objects[i].TypeFullyQualified] = i;
        var valueTypes = new HashSet<string>(objects.Where(o => o.IsValueType).Select(o => o.TypeFullyQualified), StringComparer.Ordinal);
        var t = taskType.FullyQualified;
        var name = ClassName(taskType);

        w.Line("/// <summary>Reflection-free JSON serializer for " + Xml(taskType.Display) + ".</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.Diagnostics.DebuggerStepThrough]");
        w.Open("private sealed class " + name + " : global::AppRuntime.TaskSerializer<" + t + ">");
        w.Line("public static readonly " + name + " Instance = new " + name + "();");
        w.Line();
        // One buffer and one writer per thread, reset per call, so a serialisation allocates only its result. A nested call on
        // the same thread (a getter that serialises again) gets its own pair; a buffer grown past 64 KiB is not kept.
        w.Line("[global::System.ThreadStatic] private static global::System.Buffers.ArrayBufferWriter<byte>? t_buffer;");
        w.Line("[global::System.ThreadStatic] private static " + Json + "Utf8JsonWriter? t_writer;");
        w.Line();
        w.Open("public override byte[] Serialize(" + t + " payload)");
        w.Line("var buffer = t_buffer ?? new global::System.Buffers.ArrayBufferWriter<byte>(256);");
        w.Line("var writer = t_writer;");
        w.Line("t_buffer = null;");
        w.Line("t_writer = null;");
        w.Line("buffer.ResetWrittenCount();");
        w.Line("if (writer is null)");
        w.Line("    writer = new " + Json + "Utf8JsonWriter(buffer);");
        w.Line("else");
        w.Line("    writer.Reset(buffer);");
        WriteValue(w, model.Root!, "payload", index, valueTypes);
        w.Line("writer.Flush();");
        w.Line("var result = buffer.WrittenSpan.ToArray();");
        w.Open("if (buffer.Capacity <= 65536)");
        w.Line("t_buffer = buffer;");
        w.Line("t_writer = writer;");
        w.Close();
        w.Line("return result;");
        w.Close();
        w.Line();
        w.Open("public override " + t + " Deserialize(global::System.ReadOnlySpan<byte> data)");
        w.Open("try");
        w.Line("var reader = new " + Json + "Utf8JsonReader(data);");
        w.Line("using var document = " + Json + "JsonDocument.ParseValue(ref reader);");
        w.Line("var root = document.RootElement;");
        w.Line("if (root.ValueKind == " + Json + "JsonValueKind.Null)");
        w.Line("    throw new global::AppRuntime.TaskDeserializationException(\"Payload of type " + Escape(taskType.Display) + " was JSON null.\");");
        w.Line("return " + ReadExpr(model.Root!, "root", index, valueTypes) + ";");
        w.Close();
        w.Line("catch (global::System.Exception ex) when (ex is " + Json + "JsonException or global::System.InvalidOperationException or global::System.FormatException or global::System.OverflowException or global::System.ArgumentException)");
        w.Open();
        w.Line("throw new global::AppRuntime.TaskDeserializationException(\"Payload is not a valid " + Escape(taskType.Display) + ": \" + ex.Message, ex);");
        w.Close();
        w.Close();

        for (var i = 0; i < objects.Count; i++)
        {
            var o = objects[i];
            w.Line();
            w.Open("private static void Write" + i + "(" + Json + "Utf8JsonWriter writer, " + o.TypeFullyQualified + " value)");
            w.Line("writer.WriteStartObject();");
            foreach (var member in o.Members)
            {
                w.Line("writer.WritePropertyName(" + GeneratedHeader.Literal(member.JsonName) + ");");
                WriteValue(w, member.Shape, "value." + member.Name, index, valueTypes);
            }
            w.Line("writer.WriteEndObject();");
            w.Close();
            w.Line();
            w.Open("private static " + o.TypeFullyQualified + " Read" + i + "(" + Json + "JsonElement element)");
            if (!o.IsValueType)
            {
                w.Line("if (element.ValueKind == " + Json + "JsonValueKind.Null)");
                w.Line("    return null!;");
            }
            w.Line("if (element.ValueKind != " + Json + "JsonValueKind.Object)");
            w.Line("    throw new global::AppRuntime.TaskDeserializationException(\"Expected a JSON object for " + Escape(o.Display) + ".\");");
            var readable = o.Members.Where(m => m.CanRead).ToList();
            for (var m = 0; m < readable.Count; m++)
            {
                w.Line(readable[m].Shape.AnnotatedType + " m" + m + " = default!;");
                w.Line("var has" + m + " = false;");
            }
            w.Open("foreach (var property in element.EnumerateObject())");
            for (var m = 0; m < readable.Count; m++)
            {
                var member = readable[m];
                var condition = "property.NameEquals(" + GeneratedHeader.Literal(member.JsonName) + ")" +
                    (member.JsonName != member.Name ? " || property.NameEquals(" + GeneratedHeader.Literal(member.Name) + ")" : "");
                w.Open((m == 0 ? "if (" : "else if (") + condition + ")");
                w.Line("m" + m + " = " + ReadExpr(member.Shape, "property.Value", index, valueTypes) + ";");
                w.Line("has" + m + " = true;");
                w.Close();
            }
            w.Close();
            for (var m = 0; m < readable.Count; m++)
            {
                var member = readable[m];
                if (member.ConstructorIndex >= 0 || member.IsInitOnly)
                {
                    w.Line("if (!has" + m + ")");
                    w.Line("    throw new global::AppRuntime.TaskDeserializationException(\"Property '" + member.JsonName + "' of " + Escape(o.Display) + " is missing.\");");
                }
            }
            var ctorArgs = readable.Where(m => m.ConstructorIndex >= 0).OrderBy(m => m.ConstructorIndex).Select(m => "m" + readable.IndexOf(m));
            var inits = readable.Where(m => m.ConstructorIndex < 0 && m.IsInitOnly).Select(m => m.Name + " = m" + readable.IndexOf(m)).ToList();
            w.Line("var result = new " + o.TypeFullyQualified + "(" + string.Join(", ", ctorArgs) + ")" +
                (inits.Count > 0 ? " { " + string.Join(", ", inits) + " }" : "") + ";");
            foreach (var member in readable.Where(m => m.ConstructorIndex < 0 && !m.IsInitOnly && m.IsSettable))
            {
                var m = readable.IndexOf(member);
                w.Line("if (has" + m + ")");
                w.Line("    result." + member.Name + " = m" + m + ";");
            }
            w.Line("return result;");
            w.Close();
        }
        w.Close();
    }

    private static bool IsReference(ValueShape shape, HashSet<string> valueTypes) => shape.Kind switch
    {
        ShapeKind.Scalar => shape.Scalar is ScalarKind.String or ScalarKind.Uri,
        ShapeKind.Object => !valueTypes.Contains(shape.ObjectKey),
        _ => true,
    };

    private static void WriteValue(CodeWriter w, ValueShape shape, string expr, Dictionary<string, int> index, HashSet<string> valueTypes)
    {
        if (shape.IsNullableValue)
        {
            var v = w.Local("n");
            w.Open("if (" + expr + " is { } " + v + ")");
            WriteNonNull(w, shape, v, index, valueTypes);
            w.Close();
            w.Line("else");
            w.Line("    writer.WriteNullValue();");
            return;
        }
        if (IsReference(shape, valueTypes))
        {
            var v = w.Local("r");
            w.Open("if (" + expr + " is { } " + v + ")");
            WriteNonNull(w, shape, v, index, valueTypes);
            w.Close();
            w.Line("else");
            w.Line("    writer.WriteNullValue();");
            return;
        }
        WriteNonNull(w, shape, expr, index, valueTypes);
    }

    private static void WriteNonNull(CodeWriter w, ValueShape shape, string v, Dictionary<string, int> index, HashSet<string> valueTypes)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Scalar:
                w.Line(shape.Scalar switch
                {
                    ScalarKind.String or ScalarKind.DateTime or ScalarKind.DateTimeOffset or ScalarKind.Guid => "writer.WriteStringValue(" + v + ");",
                    ScalarKind.Boolean => "writer.WriteBooleanValue(" + v + ");",
                    ScalarKind.Char or ScalarKind.Enum => "writer.WriteStringValue(" + v + ".ToString());",
                    ScalarKind.TimeSpan => "writer.WriteStringValue(" + v + ".ToString(\"c\", global::System.Globalization.CultureInfo.InvariantCulture));",
                    ScalarKind.Uri => "writer.WriteStringValue(" + v + ".OriginalString);",
                    _ => "writer.WriteNumberValue(" + v + ");",
                });
                break;
            case ShapeKind.Array:
            case ShapeKind.List:
            {
                var e = w.Local("item");
                w.Line("writer.WriteStartArray();");
                w.Open("foreach (var " + e + " in " + v + ")");
                WriteValue(w, shape.Element!, e, index, valueTypes);
                w.Close();
                w.Line("writer.WriteEndArray();");
                break;
            }
            case ShapeKind.Dictionary:
            {
                var e = w.Local("pair");
                w.Line("writer.WriteStartObject();");
                w.Open("foreach (var " + e + " in " + v + ")");
                w.Line("writer.WritePropertyName(" + e + ".Key);");
                WriteValue(w, shape.Element!, e + ".Value", index, valueTypes);
                w.Close();
                w.Line("writer.WriteEndObject();");
                break;
            }
            case ShapeKind.Object:
                w.Line("Write" + index[shape.ObjectKey] + "(writer, " + v + ");");
                break;
        }
    }

    private static string ReadExpr(ValueShape shape, string e, Dictionary<string, int> index, HashSet<string> valueTypes)
    {
        var inner = ReadNonNull(shape, e, index, valueTypes);
        if (shape.IsNullableValue)
            return "(" + e + ".ValueKind == " + Json + "JsonValueKind.Null ? default(" + shape.AnnotatedType + ") : " + inner + ")";
        if (IsReference(shape, valueTypes) && shape.Kind != ShapeKind.Object)
            return "(" + e + ".ValueKind == " + Json + "JsonValueKind.Null ? null! : " + inner + ")";
        return inner;
    }

    private static string ReadNonNull(ValueShape shape, string e, Dictionary<string, int> index, HashSet<string> valueTypes)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Scalar:
                return shape.Scalar switch
                {
                    ScalarKind.String => e + ".GetString()!",
                    ScalarKind.Boolean => e + ".GetBoolean()",
                    ScalarKind.Char => "char.Parse(" + e + ".GetString()!)",
                    ScalarKind.Enum => "global::System.Enum.Parse<" + shape.TypeFullyQualified + ">(" + e + ".GetString()!, true)",
                    ScalarKind.TimeSpan => "global::System.TimeSpan.ParseExact(" + e + ".GetString()!, \"c\", global::System.Globalization.CultureInfo.InvariantCulture)",
                    ScalarKind.Uri => "new global::System.Uri(" + e + ".GetString()!, global::System.UriKind.RelativeOrAbsolute)",
                    _ => e + ".Get" + shape.Scalar + "()",
                };
            case ShapeKind.Array:
            case ShapeKind.List:
            {
                var x = "x" + Depth(e);
                var list = "ReadList<" + shape.Element!.AnnotatedType + ">(" + e + ", static " + x + " => " + ReadExpr(shape.Element!, x, index, valueTypes) + ")";
                return shape.Kind == ShapeKind.Array ? list + ".ToArray()" : list;
            }
            case ShapeKind.Dictionary:
            {
                var x = "x" + Depth(e);
                return "ReadDictionary<" + shape.Element!.AnnotatedType + ">(" + e + ", static " + x + " => " + ReadExpr(shape.Element!, x, index, valueTypes) + ")";
            }
            default:
                return "Read" + index[shape.ObjectKey] + "(" + e + ")";
        }
    }

    private static int Depth(string e) => e.StartsWith("x", StringComparison.Ordinal) && int.TryParse(e.Substring(1), out var d) ? d + 1 : 1;

    /// <summary>Shared helpers used by every serializer of a module.</summary>
    public static void EmitHelpers(CodeWriter w)
    {
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.Diagnostics.DebuggerStepThrough]");
        w.Open("private static global::System.Collections.Generic.List<T> ReadList<T>(" + Json + "JsonElement element, global::System.Func<" + Json + "JsonElement, T> read)");
        w.Line("if (element.ValueKind != " + Json + "JsonValueKind.Array)");
        w.Line("    throw new global::AppRuntime.TaskDeserializationException(\"Expected a JSON array.\");");
        w.Line("var list = new global::System.Collections.Generic.List<T>(element.GetArrayLength());");
        w.Line("foreach (var item in element.EnumerateArray())");
        w.Line("    list.Add(read(item));");
        w.Line("return list;");
        w.Close();
        w.Line();
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.Diagnostics.DebuggerStepThrough]");
        w.Open("private static global::System.Collections.Generic.Dictionary<string, T> ReadDictionary<T>(" + Json + "JsonElement element, global::System.Func<" + Json + "JsonElement, T> read)");
        w.Line("if (element.ValueKind != " + Json + "JsonValueKind.Object)");
        w.Line("    throw new global::AppRuntime.TaskDeserializationException(\"Expected a JSON object.\");");
        w.Line("var dictionary = new global::System.Collections.Generic.Dictionary<string, T>(global::System.StringComparer.Ordinal);");
        w.Line("foreach (var property in element.EnumerateObject())");
        w.Line("    dictionary[property.Name] = read(property.Value);");
        w.Line("return dictionary;");
        w.Close();
    }

    private static string Escape(string text) => text.Replace("\\", "\\\\").Replace("\"", "\\\"");

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
