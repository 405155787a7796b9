using System;
using System.Collections.Generic;
using System.Linq;
using AppRuntime.Generators.Model;

namespace AppRuntime.Generators.Emission;

/// <summary>
/// Emits a reflection-free <c>TaskSerializer&lt;T&gt;</c> per task type that follows System.Text.Json's default rules
/// (docs/serialization.md): Utf8JsonWriter to write, a streaming Utf8JsonReader to read (no JsonDocument). A task type
/// listed by a JsonSerializerContext of the app gets a JsonTaskSerializer over that context instead.
/// </summary>
internal static class SerializerEmitter
{
    private const string Json = "global::System.Text.Json.";
    private const string Token = Json + "JsonTokenType.";
    private const string Helpers = "AppRuntimeJson";

    public static string ClassName(TypeRef taskType)
    {
        var chars = taskType.Display.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray();
        return "TaskSerializer_" + new string(chars);
    }

    /// <summary>True when the module emits a serializer class for the queue (rather than using the app's context or none).</summary>
    public static bool EmitsClass(SerializerModel model) => model.Context is null && model.IsSupported;

    /// <summary>The expression the module passes to AddQueue: the app's context, the generated serializer, or null.</summary>
    public static string Reference(TypeRef taskType, SerializerModel model)
    {
        if (model.Context is { } context)
        {
            var t = taskType.FullyQualified;
            return "new global::AppRuntime.JsonTaskSerializer<" + t + ">((" + Json + "Serialization.Metadata.JsonTypeInfo<" + t + ">)" +
                context + ".Default.GetTypeInfo(typeof(" + t + "))!)";
        }
        return model.IsSupported ? ClassName(taskType) + ".Instance" : "null";
    }

    private sealed class Context
    {
        public Context(SerializerModel model)
        {
            var objects = model.Objects.ToList();
            for (var i = 0; i < objects.Count; i++)
                Objects[objects[i].TypeFullyQualified] = i;
            foreach (var o in objects.Where(o => o.IsValueType))
                ValueTypes.Add(o.TypeFullyQualified);
            var enums = model.Enums.ToList();
            for (var i = 0; i < enums.Count; i++)
                Enums[enums[i].TypeFullyQualified] = (i, enums[i]);
        }

        public Dictionary<string, int> Objects { get; } = new(StringComparer.Ordinal);
        public HashSet<string> ValueTypes { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (int Index, JsonEnumModel Model)> Enums { get; } = new(StringComparer.Ordinal);

        public bool AsString(ValueShape shape, bool memberAsString) =>
            shape.Scalar == ScalarKind.Enum && (memberAsString || Enums[shape.TypeFullyQualified].Model.AsString);
    }

    public static void Emit(CodeWriter w, TypeRef taskType, SerializerModel model)
    {
        var ctx = new Context(model);
        var objects = model.Objects.ToList();
        var t = taskType.FullyQualified;
        var name = ClassName(taskType);

        w.Line("/// <summary>Reflection-free JSON serializer for " + Xml(taskType.Display) + ", with System.Text.Json's default rules.</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.Diagnostics.DebuggerStepThrough]");
        w.Open("private sealed class " + name + " : global::AppRuntime.TaskSerializer<" + t + ">");
        w.Line("public static readonly " + name + " Instance = new " + name + "();");
        w.Line();
        // One buffer and one writer per thread, reset per call, so a serialisation allocates only its result. A nested call on
        // the same thread (a getter that serialises again) gets its own pair; a buffer grown past 64 KiB is not kept.
        w.Line("[global::System.ThreadStatic] private static global::System.Buffers.ArrayBufferWriter<byte>? t_buffer;");
        w.Line("[global::System.ThreadStatic] private static " + Json + "Utf8JsonWriter? t_writer;");
        for (var i = 0; i < objects.Count; i++)
        {
            var members = objects[i].Members.ToList();
            for (var m = 0; m < members.Count; m++)
                w.Line("private static readonly " + Json + "JsonEncodedText s_name" + i + "_" + m + " = " + Json + "JsonEncodedText.Encode(" +
                    GeneratedHeader.Literal(members[m].JsonName) + ");");
        }
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
        WriteValue(w, model.Root!, "payload", false, ctx);
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
        w.Line("var reader = new " + Json + "Utf8JsonReader(data);");
        w.Open("try");
        w.Line("reader.Read();");
        w.Line("if (reader.TokenType == " + Token + "Null)");
        w.Line("    throw new global::AppRuntime.TaskDeserializationException(\"Payload of type " + Escape(taskType.Display) + " was JSON null.\");");
        w.Line(model.Root!.AnnotatedType + " result;");
        ReadNonNull(w, model.Root!, "result", false, ctx);
        w.Line("reader.Read(); // throws when anything but white space follows the value");
        w.Line("return result;");
        w.Close();
        w.Line("catch (global::System.Exception ex) when (" + Helpers + ".IsReadError(ex))");
        w.Open();
        w.Line("throw " + Helpers + ".Failure(" + GeneratedHeader.Literal(taskType.Display) + ", ex, reader.BytesConsumed);");
        w.Close();
        w.Close();

        for (var i = 0; i < objects.Count; i++)
            EmitObject(w, i, objects[i], ctx);
        foreach (var (index, e) in ctx.Enums.Values.OrderBy(e => e.Index))
        {
            if (e.AsString || objects.Any(o => o.Members.Any(m => m.EnumAsString && m.Shape.TypeFullyQualified == e.TypeFullyQualified)))
                EmitEnum(w, index, e);
        }
        w.Close();
    }

    private static void EmitObject(CodeWriter w, int i, JsonObjectModel o, Context ctx)
    {
        var members = o.Members.ToList();
        w.Line();
        w.Open("private static void Write" + i + "(" + Json + "Utf8JsonWriter writer, " + o.TypeFullyQualified + " value)");
        w.Line("writer.WriteStartObject();");
        for (var m = 0; m < members.Count; m++)
        {
            var member = members[m];
            var nameField = "s_name" + i + "_" + m;
            var condition = member.Ignore switch
            {
                JsonIgnoreMode.WhenWritingNull when member.Shape.IsNullableValue || IsReference(member.Shape, ctx) => " is not null",
                JsonIgnoreMode.WhenWritingDefault when member.Shape.IsNullableValue || IsReference(member.Shape, ctx) => " is not null",
                JsonIgnoreMode.WhenWritingDefault => "",
                _ => null,
            };
            if (condition is null)
            {
                w.Line("writer.WritePropertyName(" + nameField + ");");
                WriteValue(w, member.Shape, "value." + member.Name, member.EnumAsString, ctx);
                continue;
            }
            var v = w.Local("v");
            w.Line("var " + v + " = value." + member.Name + ";");
            w.Open(condition.Length > 0
                ? "if (" + v + condition + ")"
                : "if (!global::System.Collections.Generic.EqualityComparer<" + member.Shape.TypeFullyQualified + ">.Default.Equals(" + v + ", default!))");
            w.Line("writer.WritePropertyName(" + nameField + ");");
            WriteValue(w, member.Shape, v, member.EnumAsString, ctx);
            w.Close();
        }
        w.Line("writer.WriteEndObject();");
        w.Close();

        // Match: the index of the readable member a (unescaped) property name selects, or -1 (skipped, as System.Text.Json does).
        var readable = Enumerable.Range(0, members.Count).Where(m => members[m].CanRead).ToList();
        w.Line();
        w.Open("private static int Match" + i + "(global::System.ReadOnlySpan<byte> name)");
        if (readable.Count > 0)
        {
            w.Open("switch (name.Length)");
            foreach (var group in readable.GroupBy(m => System.Text.Encoding.UTF8.GetByteCount(members[m].JsonName)).OrderBy(g => g.Key))
            {
                w.Line("case " + group.Key + ":");
                foreach (var m in group)
                {
                    w.Line("    if (global::System.MemoryExtensions.SequenceEqual(name, " + GeneratedHeader.Literal(members[m].JsonName) + "u8))");
                    w.Line("        return " + m + ";");
                }
                w.Line("    break;");
            }
            w.Close();
        }
        w.Line("return -1;");
        w.Close();

        w.Line();
        w.Open("private static " + o.TypeFullyQualified + " Read" + i + "(ref " + Json + "Utf8JsonReader reader)");
        w.Line("if (reader.TokenType != " + Token + "StartObject)");
        w.Line("    throw " + Helpers + ".Expected(\"an object for " + Escape(o.Display) + "\", reader.TokenType);");
        var defaults = new Dictionary<int, string>();
        foreach (var p in o.Parameters.Where(p => p.MemberIndex >= 0))
            defaults[p.MemberIndex] = p.DefaultValue;
        var needsHas = new HashSet<int>(readable.Where(m => members[m].IsRequired || members[m].IsSettable));
        foreach (var m in readable)
        {
            w.Line(members[m].Shape.AnnotatedType + " m" + m + " = " + (defaults.TryGetValue(m, out var d) ? d : "default!") + ";");
            if (needsHas.Contains(m))
                w.Line("var has" + m + " = false;");
        }
        w.Line("var member = -1;");
        w.Open("try");
        w.Open("while (true)");
        w.Line("reader.Read();");
        w.Line("if (reader.TokenType == " + Token + "EndObject)");
        w.Line("    break;");
        w.Line("member = Match" + i + "(reader.ValueIsEscaped ? " + Helpers + ".Unescape(ref reader) : reader.ValueSpan);");
        w.Line("reader.Read();");
        w.Open("switch (member)");
        foreach (var m in readable)
        {
            w.Line("case " + m + ":");
            w.Open();
            ReadValue(w, members[m].Shape, "m" + m, members[m].EnumAsString, ctx);
            if (needsHas.Contains(m))
                w.Line("has" + m + " = true;");
            w.Line("break;");
            w.Close();
        }
        w.Line("default:");
        w.Line("    reader.Skip();");
        w.Line("    break;");
        w.Close();
        w.Line("member = -1;");
        w.Close();
        w.Close();
        w.Line("catch (global::System.Exception ex) when (member >= 0 && " + Helpers + ".IsReadError(ex))");
        w.Open();
        w.Line("throw " + Helpers + ".AtMember(ex, member switch");
        w.Line("{");
        foreach (var m in readable)
            w.Line("    " + m + " => " + GeneratedHeader.Literal(members[m].JsonName) + ",");
        w.Line("    _ => \"?\",");
        w.Line("});");
        w.Close();

        var required = readable.Where(m => members[m].IsRequired).ToList();
        if (required.Count > 0)
        {
            w.Open("if (" + string.Join(" || ", required.Select(m => "!has" + m)) + ")");
            w.Line("var missing = new global::System.Collections.Generic.List<string>();");
            foreach (var m in required)
            {
                w.Line("if (!has" + m + ")");
                w.Line("    missing.Add(" + GeneratedHeader.Literal(members[m].JsonName) + ");");
            }
            w.Line("throw " + Helpers + ".MissingRequired(" + GeneratedHeader.Literal(o.Display) + ", missing);");
            w.Close();
        }

        var args = o.Parameters.Select(p => p.MemberIndex >= 0 ? "m" + p.MemberIndex : p.DefaultValue);
        var inits = readable.Where(m => members[m].ConstructorIndex < 0 && (members[m].IsInitOnly || members[m].IsRequired))
            .Select(m => members[m].Name + " = m" + m).ToList();
        w.Line("var result = new " + o.TypeFullyQualified + "(" + string.Join(", ", args) + ")" +
            (inits.Count > 0 ? " { " + string.Join(", ", inits) + " }" : "") + ";");
        foreach (var m in readable.Where(m => members[m].IsSettable && !members[m].IsRequired))
        {
            w.Line("if (has" + m + ")");
            w.Line("    result." + members[m].Name + " = m" + m + ";");
        }
        w.Line("return result;");
        w.Close();
    }

    /// <summary>JsonStringEnumConverter: a defined value as its name (a [Flags] combination as "A, B"), anything else as a number.</summary>
    private static void EmitEnum(CodeWriter w, int i, JsonEnumModel e)
    {
        var t = e.TypeFullyQualified;
        w.Line();
        w.Open("private static void WriteEnum" + i + "(" + Json + "Utf8JsonWriter writer, " + t + " value)");
        w.Open("switch (value)");
        foreach (var n in e.Names)
        {
            w.Line("case " + t + "." + n + ":");
            w.Line("    writer.WriteStringValue(" + GeneratedHeader.Literal(n) + "u8);");
            w.Line("    return;");
        }
        w.Close();
        w.Line("var text = value.ToString();");
        w.Line("if (text.Length > 0 && (char.IsDigit(text[0]) || text[0] == '-'))");
        w.Line("    writer.WriteNumberValue((" + e.Underlying + ")value);");
        w.Line("else");
        w.Line("    writer.WriteStringValue(text);");
        w.Close();
        w.Line();
        w.Open("private static " + t + " ReadEnum" + i + "(ref " + Json + "Utf8JsonReader reader)");
        w.Line("if (reader.TokenType == " + Token + "Number)");
        w.Line("    return (" + t + ")reader.Get" + UnderlyingGetter(e.Underlying) + "();");
        w.Line("if (reader.TokenType != " + Token + "String)");
        w.Line("    throw " + Helpers + ".Expected(\"a name or number of " + Escape(e.Display) + "\", reader.TokenType);");
        foreach (var n in e.Names)
        {
            w.Line("if (reader.ValueTextEquals(" + GeneratedHeader.Literal(n) + "u8))");
            w.Line("    return " + t + "." + n + ";");
        }
        w.Line("var text = reader.GetString();");
        w.Line("if (global::System.Enum.TryParse<" + t + ">(text, true, out var parsed))");
        w.Line("    return parsed;");
        w.Line("throw new " + Json + "JsonException(\"'\" + text + \"' is not a value of " + Escape(e.Display) + ".\");");
        w.Close();
    }

    private static string UnderlyingGetter(string keyword) => keyword switch
    {
        "byte" => "Byte",
        "sbyte" => "SByte",
        "short" => "Int16",
        "ushort" => "UInt16",
        "uint" => "UInt32",
        "long" => "Int64",
        "ulong" => "UInt64",
        _ => "Int32",
    };

    private static bool IsBytes(ValueShape shape) =>
        shape.Kind == ShapeKind.Array && shape.Element is { Kind: ShapeKind.Scalar, Scalar: ScalarKind.Byte, IsNullableValue: false };

    private static bool IsReference(ValueShape shape, Context ctx) => shape.Kind switch
    {
        ShapeKind.Scalar => shape.Scalar is ScalarKind.String or ScalarKind.Uri,
        ShapeKind.Object => !ctx.ValueTypes.Contains(shape.ObjectKey),
        _ => true,
    };

    private static void WriteValue(CodeWriter w, ValueShape shape, string expr, bool memberAsString, Context ctx)
    {
        if (shape.IsNullableValue || IsReference(shape, ctx))
        {
            var v = w.Local(shape.IsNullableValue ? "n" : "r");
            w.Open("if (" + expr + " is { } " + v + ")");
            WriteNonNull(w, shape, v, memberAsString, ctx);
            w.Close();
            w.Line("else");
            w.Line("    writer.WriteNullValue();");
            return;
        }
        WriteNonNull(w, shape, expr, memberAsString, ctx);
    }

    private static void WriteNonNull(CodeWriter w, ValueShape shape, string v, bool memberAsString, Context ctx)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Scalar:
                w.Line(shape.Scalar switch
                {
                    ScalarKind.String or ScalarKind.DateTime or ScalarKind.DateTimeOffset or ScalarKind.Guid => "writer.WriteStringValue(" + v + ");",
                    ScalarKind.Boolean => "writer.WriteBooleanValue(" + v + ");",
                    ScalarKind.Char => Helpers + ".WriteChar(writer, " + v + ");",
                    ScalarKind.TimeSpan => Helpers + ".WriteTimeSpan(writer, " + v + ");",
                    // As System.Text.Json writes them: ISO 8601 date; time of day with seven fraction digits when there is a fraction.
                    ScalarKind.DateOnly => "writer.WriteStringValue(" + v + ".ToString(\"yyyy'-'MM'-'dd\", global::System.Globalization.CultureInfo.InvariantCulture));",
                    ScalarKind.TimeOnly => "writer.WriteStringValue(" + v + ".ToString(" + v + ".Ticks % global::System.TimeSpan.TicksPerSecond == 0 ? \"HH':'mm':'ss\" : \"HH':'mm':'ss'.'fffffff\", global::System.Globalization.CultureInfo.InvariantCulture));",
                    ScalarKind.Uri => "writer.WriteStringValue(" + v + ".OriginalString);",
                    ScalarKind.Enum when ctx.AsString(shape, memberAsString) => "WriteEnum" + ctx.Enums[shape.TypeFullyQualified].Index + "(writer, " + v + ");",
                    ScalarKind.Enum => "writer.WriteNumberValue((" + ctx.Enums[shape.TypeFullyQualified].Model.Underlying + ")" + v + ");",
                    _ => "writer.WriteNumberValue(" + v + ");",
                });
                break;
            case ShapeKind.Array when IsBytes(shape):
                w.Line("writer.WriteBase64StringValue(" + v + ");");
                break;
            case ShapeKind.Array:
            case ShapeKind.List:
            {
                var e = w.Local("item");
                w.Line("writer.WriteStartArray();");
                w.Open("foreach (var " + e + " in " + v + ")");
                WriteValue(w, shape.Element!, e, false, ctx);
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
                WriteValue(w, shape.Element!, e + ".Value", false, ctx);
                w.Close();
                w.Line("writer.WriteEndObject();");
                break;
            }
            case ShapeKind.Object:
                w.Line("Write" + ctx.Objects[shape.ObjectKey] + "(writer, " + v + ");");
                break;
        }
    }

    /// <summary>Statements that read the value at the reader's current token into <paramref name="target"/>, leaving the reader on its last token.</summary>
    private static void ReadValue(CodeWriter w, ValueShape shape, string target, bool memberAsString, Context ctx)
    {
        if (shape.Kind == ShapeKind.Scalar && shape.Scalar == ScalarKind.String && !shape.IsNullableValue)
        {
            w.Line(target + " = reader.GetString()!;"); // JSON null reads as null, as System.Text.Json does for any reference type
            return;
        }
        if (shape.IsNullableValue || IsReference(shape, ctx))
        {
            w.Line("if (reader.TokenType == " + Token + "Null)");
            w.Line("    " + target + " = " + (shape.IsNullableValue ? "null" : "null!") + ";");
            w.Line("else");
            w.Open();
            ReadNonNull(w, shape, target, memberAsString, ctx);
            w.Close();
            return;
        }
        ReadNonNull(w, shape, target, memberAsString, ctx);
    }

    private static void ReadNonNull(CodeWriter w, ValueShape shape, string target, bool memberAsString, Context ctx)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Scalar:
                w.Line(target + " = " + (shape.Scalar switch
                {
                    ScalarKind.String => "reader.GetString()!",
                    ScalarKind.Char => Helpers + ".ReadChar(ref reader)",
                    ScalarKind.TimeSpan => Helpers + ".ReadTimeSpan(ref reader)",
                    ScalarKind.DateOnly => "global::System.DateOnly.ParseExact(reader.GetString()!, \"yyyy'-'MM'-'dd\", global::System.Globalization.CultureInfo.InvariantCulture)",
                    ScalarKind.TimeOnly => "global::System.TimeOnly.ParseExact(reader.GetString()!, new[] { \"HH':'mm':'ss.FFFFFFF\", \"HH':'mm\" }, global::System.Globalization.CultureInfo.InvariantCulture, global::System.Globalization.DateTimeStyles.None)",
                    ScalarKind.Uri => Helpers + ".ReadUri(ref reader)",
                    ScalarKind.Enum when ctx.AsString(shape, memberAsString) => "ReadEnum" + ctx.Enums[shape.TypeFullyQualified].Index + "(ref reader)",
                    ScalarKind.Enum => "(" + shape.TypeFullyQualified + ")reader.Get" + UnderlyingGetter(ctx.Enums[shape.TypeFullyQualified].Model.Underlying) + "()",
                    _ => "reader.Get" + shape.Scalar + "()",
                }) + ";");
                break;
            case ShapeKind.Array when IsBytes(shape):
                w.Line(target + " = reader.GetBytesFromBase64();");
                break;
            case ShapeKind.Array:
            case ShapeKind.List:
            {
                var list = w.Local("list");
                var index = w.Local("i");
                var item = w.Local("item");
                var element = shape.Element!;
                w.Line("if (reader.TokenType != " + Token + "StartArray)");
                w.Line("    throw " + Helpers + ".Expected(\"an array\", reader.TokenType);");
                w.Line("var " + list + " = new global::System.Collections.Generic.List<" + element.AnnotatedType + ">();");
                w.Line("var " + index + " = 0;");
                w.Open("try");
                w.Open("while (true)");
                w.Line("reader.Read();");
                w.Line("if (reader.TokenType == " + Token + "EndArray)");
                w.Line("    break;");
                w.Line(element.AnnotatedType + " " + item + ";");
                ReadValue(w, element, item, false, ctx);
                w.Line(list + ".Add(" + item + ");");
                w.Line(index + "++;");
                w.Close();
                w.Close();
                w.Line("catch (global::System.Exception ex) when (" + Helpers + ".IsReadError(ex))");
                w.Line("{");
                w.Line("    throw " + Helpers + ".AtIndex(ex, " + index + ");");
                w.Line("}");
                w.Line(target + " = " + list + (shape.Kind == ShapeKind.Array ? ".ToArray()" : "") + ";");
                break;
            }
            case ShapeKind.Dictionary:
            {
                var dictionary = w.Local("dictionary");
                var key = w.Local("key");
                var item = w.Local("item");
                var element = shape.Element!;
                w.Line("if (reader.TokenType != " + Token + "StartObject)");
                w.Line("    throw " + Helpers + ".Expected(\"an object\", reader.TokenType);");
                w.Line("var " + dictionary + " = new global::System.Collections.Generic.Dictionary<string, " + element.AnnotatedType + ">();");
                w.Line("string? " + key + " = null;");
                w.Open("try");
                w.Open("while (true)");
                w.Line("reader.Read();");
                w.Line("if (reader.TokenType == " + Token + "EndObject)");
                w.Line("    break;");
                w.Line(key + " = reader.GetString()!;");
                w.Line("reader.Read();");
                w.Line(element.AnnotatedType + " " + item + ";");
                ReadValue(w, element, item, false, ctx);
                w.Line(dictionary + "[" + key + "] = " + item + ";");
                w.Line(key + " = null;");
                w.Close();
                w.Close();
                w.Line("catch (global::System.Exception ex) when (" + key + " is not null && " + Helpers + ".IsReadError(ex))");
                w.Line("{");
                w.Line("    throw " + Helpers + ".AtMember(ex, " + key + ");");
                w.Line("}");
                w.Line(target + " = " + dictionary + ";");
                break;
            }
            case ShapeKind.Object:
                w.Line(target + " = Read" + ctx.Objects[shape.ObjectKey] + "(ref reader);");
                break;
        }
    }

    /// <summary>Helpers shared by every serializer of a module, in one nested class so they cannot clash with the module's members.</summary>
    public static void EmitHelpers(CodeWriter w)
    {
        w.Line("/// <summary>Helpers of the generated task serializers.</summary>");
        w.Line(GeneratedHeader.GeneratedCode);
        w.Line("[global::System.Diagnostics.DebuggerStepThrough]");
        w.Open("private static class " + Helpers);
        w.Line("/// <summary>A read error on its way out, with the JSON path below the member that caught it.</summary>");
        w.Open("public sealed class PathException : global::System.Exception");
        w.Line("public PathException(string path, global::System.Exception cause) : base(cause.Message, cause) => Path = path;");
        w.Line();
        w.Line("public string Path { get; }");
        w.Close();
        w.Line();
        w.Line("public static bool IsReadError(global::System.Exception ex) =>");
        w.Line("    ex is " + Json + "JsonException or global::System.InvalidOperationException or global::System.FormatException");
        w.Line("        or global::System.OverflowException or global::System.ArgumentException or PathException;");
        w.Line();
        w.Line("public static global::System.Exception AtMember(global::System.Exception ex, string name) => At(ex, \".\" + name);");
        w.Line();
        w.Line("public static global::System.Exception AtIndex(global::System.Exception ex, int index) =>");
        w.Line("    At(ex, \"[\" + index.ToString(global::System.Globalization.CultureInfo.InvariantCulture) + \"]\");");
        w.Line();
        w.Line("private static global::System.Exception At(global::System.Exception ex, string segment) =>");
        w.Line("    ex is PathException inner ? new PathException(segment + inner.Path, inner.InnerException!) : new PathException(segment, ex);");
        w.Line();
        w.Open("public static global::AppRuntime.TaskDeserializationException Failure(string type, global::System.Exception ex, long position)");
        w.Line("var path = ex is PathException p ? \"$\" + p.Path : \"$\";");
        w.Line("var cause = ex is PathException q ? q.InnerException! : ex;");
        w.Line("return new global::AppRuntime.TaskDeserializationException(\"Payload is not a valid \" + type + \" at \" + path + \" (byte \" +");
        w.Line("    position.ToString(global::System.Globalization.CultureInfo.InvariantCulture) + \"): \" + cause.Message, cause);");
        w.Close();
        w.Line();
        w.Line("public static " + Json + "JsonException Expected(string what, " + Json + "JsonTokenType found) =>");
        w.Line("    new " + Json + "JsonException(\"Expected \" + what + \", found \" + found.ToString() + \".\");");
        w.Line();
        w.Line("public static " + Json + "JsonException MissingRequired(string type, global::System.Collections.Generic.List<string> names) =>");
        w.Line("    new " + Json + "JsonException(\"JSON deserialization for type '\" + type + \"' was missing required properties including: '\" + string.Join(\"', '\", names) + \"'.\");");
        w.Line();
        w.Open("public static global::System.ReadOnlySpan<byte> Unescape(ref " + Json + "Utf8JsonReader reader)");
        w.Line("var buffer = new byte[reader.ValueSpan.Length];");
        w.Line("return new global::System.ReadOnlySpan<byte>(buffer, 0, reader.CopyString(buffer));");
        w.Close();
        w.Line();
        w.Open("public static char ReadChar(ref " + Json + "Utf8JsonReader reader)");
        w.Line("var text = reader.TokenType == " + Token + "String ? reader.GetString()! : throw Expected(\"a string\", reader.TokenType);");
        w.Line("return text.Length == 1 ? text[0] : throw new global::System.FormatException(\"Expected a string of one character for a char.\");");
        w.Close();
        w.Line();
        w.Line("public static void WriteChar(" + Json + "Utf8JsonWriter writer, char value) => writer.WriteStringValue(new global::System.ReadOnlySpan<char>(in value));");
        w.Line();
        w.Line("/// <summary>The constant (\"c\") format, at most 26 characters, starting with a digit or '-', as System.Text.Json reads it.</summary>");
        w.Open("public static global::System.TimeSpan ReadTimeSpan(ref " + Json + "Utf8JsonReader reader)");
        w.Line("if (reader.TokenType != " + Token + "String)");
        w.Line("    throw Expected(\"a string\", reader.TokenType);");
        w.Line("var source = reader.ValueIsEscaped ? Unescape(ref reader) : reader.ValueSpan;");
        w.Line("if (source.Length < 1 || source.Length > 26 || !((source[0] >= (byte)'0' && source[0] <= (byte)'9') || source[0] == (byte)'-')");
        w.Line("    || !global::System.Buffers.Text.Utf8Parser.TryParse(source, out global::System.TimeSpan value, out var consumed, 'c') || consumed != source.Length)");
        w.Line("    throw new global::System.FormatException(\"The JSON value is not in a supported TimeSpan format.\");");
        w.Line("return value;");
        w.Close();
        w.Line();
        w.Open("public static void WriteTimeSpan(" + Json + "Utf8JsonWriter writer, global::System.TimeSpan value)");
        w.Line("global::System.Span<byte> buffer = stackalloc byte[26];");
        w.Line("global::System.Buffers.Text.Utf8Formatter.TryFormat(value, buffer, out var written, 'c');");
        w.Line("writer.WriteStringValue(buffer.Slice(0, written));");
        w.Close();
        w.Line();
        w.Open("public static global::System.Uri ReadUri(ref " + Json + "Utf8JsonReader reader)");
        w.Line("var text = reader.GetString();");
        w.Line("return text is not null && global::System.Uri.TryCreate(text, global::System.UriKind.RelativeOrAbsolute, out var uri)");
        w.Line("    ? uri");
        w.Line("    : throw new " + Json + "JsonException(\"The JSON value is not a valid URI.\");");
        w.Close();
        w.Close();
    }

    private static string Escape(string text) => text.Replace("\\", "\\\\").Replace("\"", "\\\"");

    private static string Xml(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
