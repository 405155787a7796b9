using System.Text;
using System.Text.Json;

namespace AppRuntime.Generators.Tests.Serialization;

/// <summary>
/// Differential test of the generated task serializers against System.Text.Json's source-generated serializer with default
/// options (docs/serialization.md). Every payload is read by both; both must reject it, or both must accept it and then
/// write identical JSON for what each read (each serializer writing both values), so names, order, ignored members, enums,
/// nulls, defaults, constructors and required members all have to agree. The one documented difference: a JSON null
/// payload, which System.Text.Json reads as null and a task serializer rejects (as JsonTaskSerializer does).
/// </summary>
public sealed class DifferentialSerializationTests
{
    /// <summary>(task type, payload). Payloads both serializers reject are in <see cref="Rejected"/>.</summary>
    public static readonly TheoryData<string, string> Accepted = new()
    {
        { "Primitives", """{"Flag":true,"B":255,"SB":-128,"S":-32768,"US":65535,"I":-2147483648,"UI":4294967295,"L":-9223372036854775808,"UL":18446744073709551615,"F":1.5,"D":-2.25e-10,"M":79228162514264337593543950335,"C":"x","Text":"h\u00e9llo \"w\" \\ \n \ud83d\ude00 <tag> &amp; \u2028"}""" },
        { "Primitives", """{}""" },
        { "Primitives", """ { "Text" : "spaced" , "I" : 1 } """ },
        { "Primitives", """{"Text":"unknown members are skipped","Extra":{"a":[1,2,{"b":null}]},"More":[],"I":3}""" },
        { "Primitives", """{"I":1,"I":2,"Text":"duplicates: the last wins"}""" },
        { "Primitives", """{"i":5,"TEXT":"names are case-sensitive"}""" },
        { "Primitives", """{"\u0049":7,"T\u0065xt":"escaped property names"}""" },
        { "Primitives", """{"D":1e308,"F":3.4e38,"M":0.1,"C":"\u00e9"}""" },
        { "NullablePrimitives", """{"I":null,"D":null,"B":null,"M":null,"C":null,"G":null,"When":null,"Span":null,"L":null}""" },
        { "NullablePrimitives", """{"I":1,"D":2.5,"B":false,"M":3.75,"C":"z","G":"6f9619ff-8b86-d011-b42d-00c04fc964ff","When":"2026-01-02T03:04:05.123+02:00","Span":"-1.02:03:04.5000000"}""" },
        { "NullablePrimitives", """{}""" },
        { "WellKnown", """{"At":"2026-01-02T03:04:05Z","When":"2026-01-02T03:04:05+00:00","Span":"00:05:00","Id":"6f9619ff-8b86-d011-b42d-00c04fc964ff","Link":"https://example.com/a?b=c#d"}""" },
        { "WellKnown", """{"At":"2026-01-02T03:04:05.1234567","When":"2026-01-02T03:04:05.5-05:30","Span":"10675199.02:48:05.4775807","Id":"00000000-0000-0000-0000-000000000000","Link":"relative/path"}""" },
        { "WellKnown", """{"At":"2026-01-02","When":"2026-01-02T03:04:05Z","Span":"12:00:00","Id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","Link":null}""" },
        { "WellKnown", """{}""" },
        { "WellKnown", """{"Span":"1:02:03"}""" },
        { "WellKnown", """{"Span":"5"}""" },
        { "PositionalRecord", """{"Id":"p-1","Count":2,"Price":9.99}""" },
        { "PositionalRecord", """{"Price":1}""" },
        { "PositionalRecord", """{"id":"lowercase is another member","Count":1}""" },
        { "RecordWithDefaults", """{"Name":"n"}""" },
        { "RecordWithDefaults", """{"Name":"n","Count":9,"Rate":0.5,"Label":"y","Color":0,"Ratio":1}""" },
        { "InitOnly", """{}""" },
        { "InitOnly", """{"Name":"set","X":3,"Values":[1]}""" },
        { "InitOnly", """{"X":3}""" },
        { "SettableWithDefaults", """{}""" },
        { "SettableWithDefaults", """{"Name":"n","Values":[],"X":0}""" },
        { "SettableWithDefaults", """{"Values":null,"Name":null}""" },
        { "RenamedProperties", """{"order_id":"o-1","n\u00e4me":"N","with \"quotes\" <&>":3,"count":4,"count2":5}""" },
        { "RenamedProperties", """{"Id":"CLR names are not JSON names","Name":"x","Count":1}""" },
        { "IgnoreAlways", """{"Secret":"not read","Shown":"s","NotSerializable":1}""" },
        { "IgnoreAlways", """{}""" },
        { "IgnoreConditions", """{}""" },
        { "IgnoreConditions", """{"NullText":"t","NullNumber":0,"DefaultNumber":1,"DefaultText":"d","DefaultColor":2,"DefaultMoney":0.0,"Never":0}""" },
        { "IgnoreConditions", """{"DefaultMoney":1.10,"DefaultText":""}""" },
        { "RequiredMembers", """{"Name":"n","Count":1}""" },
        { "RequiredMembers", """{"Name":null,"Count":0,"Optional":"o"}""" },
        { "JsonRequiredMembers", """{"A":1,"B":null}""" },
        { "JsonRequiredMembers", """{"A":1,"B":"b","C":3}""" },
        { "NumericEnums", """{"Color":2,"Maybe":null,"Many":[0,1,2,7],"Perms":3,"Small":200,"Big":5000000000}""" },
        { "NumericEnums", """{"Color":-1,"Maybe":1,"Perms":15,"Big":-5}""" },
        { "StringEnumProperty", """{"Color":"Blue","Maybe":"Green","AsNumber":1}""" },
        { "StringEnumProperty", """{"Color":"blue","Maybe":null}""" },
        { "StringEnumProperty", """{"Color":2,"Maybe":9}""" },
        { "StringEnumProperty", """{"Color":"1","Maybe":" Red"}""" },
        { "StringEnumProperty", """{"Color":"Red, Green"}""" },
        { "StringEnumType", """{"Shade":"Dark","Maybe":"Dusk","Many":["Light","dark",7,3],"ByName":{"a":"Light","b":1}}""" },
        { "StringEnumType", """{"Shade":5}""" },
        { "FlagsAsString", """{"Perms":"Read, Write"}""" },
        { "FlagsAsString", """{"Perms":"None"}""" },
        { "FlagsAsString", """{"Perms":7}""" },
        { "FlagsAsString", """{"Perms":8}""" },
        { "FlagsAsString", """{"Perms":"exec,read"}""" },
        { "NullableReferences", """{"Maybe":null,"Sure":null,"Nested":null,"Items":["a",null],"MaybeItems":null}""" },
        { "NullableReferences", """{"Maybe":"m","Nested":{"Id":"i","Count":1,"Price":2},"MaybeItems":["x"]}""" },
        { "NestedRecords", """{"Id":"n","Customer":{"Name":"c","Home":{"Street":"s","City":"c","Zip":null},"Work":{"Street":"w","City":"c","Zip":"1"}},"Shipments":[{"Street":"a","City":"b","Zip":"z"},{"City":"only"}]}""" },
        { "NestedRecords", """{"Id":"n","Customer":null,"Shipments":null}""" },
        { "Lists", """{"Ints":[1,2,3],"Array":[4],"Strings":["a",null],"Longs":[9007199254740993],"Decimals":[1.5,2],"Lines":[{"Sku":"s","Quantity":1,"Price":2}],"Nested":[[1],[],[2,3]],"WithNulls":[1,null],"MaybeLines":null}""" },
        { "Lists", """{"Ints":[],"Array":[],"Strings":[],"MaybeLines":[{"Sku":"x","Quantity":0,"Price":0}]}""" },
        { "Lists", """{"Ints":null,"Array":null}""" },
        { "Dictionaries", """{"Counts":{"a":1,"b":2,"a":3},"Lines":{"x":{"Sku":"s","Quantity":1,"Price":1}},"Groups":{"g":["a","b"],"h":[]},"Maybe":{"n":null,"v":1},"Optional":{"k":"v"}}""" },
        { "Dictionaries", """{"Counts":{},"Lines":{},"Groups":{},"Maybe":{},"Optional":null}""" },
        { "Dictionaries", """{"Counts":{"\u00e9 \"q\"":1,"":2}}""" },
        { "Bytes", """{"Data":"AQID","Maybe":"AQ==","AsList":[1,2,255]}""" },
        { "Bytes", """{"Data":"","Maybe":"/w=="}""" },
        { "Point", """{"X":1,"Y":-2}""" },
        { "Point", """{}""" },
        { "WithValueTypes", """{"Where":{"X":1,"Y":2},"Maybe":null,"Price":{"Amount":1.5,"Currency":"EUR"},"Path":[{"X":0,"Y":0},{"Y":5}]}""" },
        { "WithValueTypes", """{"Maybe":{"X":3},"Price":{"Currency":"USD"}}""" },
        { "Derived", """{"DerivedValue":1,"Name":"n","BaseValue":2}""" },
        { "Derived", """{}""" },
        { "PropertyOrder", """{"Last":1,"Middle":2,"First":3,"AlsoMiddle":4}""" },
        { "AnnotatedConstructor", """{"Value":5,"Name":"n"}""" },
        { "AnnotatedConstructor", """{"Source":"json","Value":1}""" },
        { "AnnotatedConstructor", """{}""" },
        { "ConstructorWithIgnoredProperty", """{"A":1,"B":2,"Sum":10}""" },
        { "Computed", """{"A":1,"B":2,"Total":100,"Label":"ignored"}""" },
        { "TreeNode", """{"Value":1,"Next":{"Value":2,"Next":null,"Children":[]},"Children":[{"Value":3,"Children":[{"Value":4}]}]}""" },
        { "TreeNode", """{"Value":1}""" },
        { "Empty", """{}""" },
        { "Empty", """{"anything":[1,{"x":2}]}""" },
        { "Hiding", """{"Value":5}""" },
        { "RecordWithBody", """{"A":"a","B":1,"C":"cc","D":["d"]}""" },
        { "RecordWithBody", """{"A":"a","B":1}""" },
        { "MutableClass", """{"Name":"n","Count":2,"Tags":["t"],"Address":{"Street":"s","City":"c","Zip":null}}""" },
        { "MutableClass", """{"Address":null}""" },
        { "NumberLimits", """{"MinLong":-9223372036854775808,"MaxLong":9223372036854775807,"MaxULong":18446744073709551615,"Tiny":5e-324,"Huge":1.7976931348623157e308,"Single":1.17549435e-38,"Precise":0.0000000000000000000000000001,"Negative":-79228162514264337593543950335}""" },
        { "NumberLimits", """{"Tiny":1.0,"Single":0.1,"Precise":1.10,"Negative":-0}""" },
        { "List<Line>", """[{"Sku":"a","Quantity":1,"Price":1.5},{"Sku":"b","Quantity":2,"Price":0}]""" },
        { "List<Line>", """[]""" },
        { "List<Line>", """[null]""" },
        { "StructRecord", """{"Id":1,"Name":"n","Color":2}""" },
        { "StructRecord", """{}""" },
        { "InitRequiredMix", """{"Id":"i","Lines":[],"Note":"n","Version":2}""" },
        { "InitRequiredMix", """{"Lines":null}""" },
        { "Dates", """{"Day":"2026-01-02","Time":"03:04:05","MaybeDay":"0001-01-01","MaybeTime":"23:59:59.9999999","Days":["2026-12-31","9999-12-31"]}""" },
        { "Dates", """{"Day":"2024-02-29","Time":"03:04:05.5","MaybeDay":null,"MaybeTime":null,"Days":null}""" },
        { "Dates", """{"Time":"00:00:00.1234567"}""" },
        { "Dates", """{"Time":"03:04"}""" },
        { "Dates", """{}""" },
    };

    /// <summary>Payloads both serializers must reject.</summary>
    public static readonly TheoryData<string, string> Rejected = new()
    {
        { "Primitives", "" },
        { "Primitives", "null" },
        { "Primitives", "[]" },
        { "Primitives", "\"text\"" },
        { "Primitives", """{"I":"5"}""" },
        { "Primitives", """{"I":1.5}""" },
        { "Primitives", """{"I":2147483648}""" },
        { "Primitives", """{"B":-1}""" },
        { "Primitives", """{"I":null}""" },
        { "Primitives", """{"Flag":"true"}""" },
        { "Primitives", """{"Flag":1}""" },
        { "Primitives", """{"Text":5}""" },
        { "Primitives", """{"C":"ab"}""" },
        { "Primitives", """{"C":""}""" },
        { "Primitives", """{"D":"NaN"}""" },
        { "Primitives", """{"I":1} trailing""" },
        { "Primitives", """{"I":1,}""" },
        { "Primitives", """{"I":1 /* comment */}""" },
        { "Primitives", """{"I":1""" },
        { "Primitives", """{'I':1}""" },
        { "WellKnown", """{"At":"yesterday"}""" },
        { "WellKnown", """{"Id":"{6f9619ff-8b86-d011-b42d-00c04fc964ff}"}""" },
        { "WellKnown", """{"Span":"1:02:03.1234567890"}""" },
        { "WellKnown", """{"Span":"1.02:03:04:05"}""" },
        { "WellKnown", """{"Span":" 01:02:03"}""" },
        { "WellKnown", """{"Span":"01:02:03 "}""" },
        { "WellKnown", """{"Span":36000}""" },
        { "WellKnown", """{"When":"2026-13-01T00:00:00Z"}""" },
        { "WellKnown", """{"Link":5}""" },
        { "PositionalRecord", """{"Count":null}""" },
        { "RequiredMembers", """{"Count":1}""" },
        { "RequiredMembers", """{}""" },
        { "JsonRequiredMembers", """{"B":"b"}""" },
        { "NumericEnums", """{"Color":"Blue"}""" },
        { "NumericEnums", """{"Small":300}""" },
        { "StringEnumProperty", """{"Color":"Purple"}""" },
        { "StringEnumProperty", """{"Color":true}""" },
        { "StringEnumProperty", """{"AsNumber":"Red"}""" },
        { "StringEnumType", """{"Many":["Light","Nope"]}""" },
        { "Lists", """{"Ints":[1,"2"]}""" },
        { "Lists", """{"Ints":{}}""" },
        { "Lists", """{"Lines":[{"Sku":"s","Quantity":"x"}]}""" },
        { "Lists", """{"Nested":[[1],[null]]}""" },
        { "Dictionaries", """{"Counts":[]}""" },
        { "Dictionaries", """{"Counts":{"a":"b"}}""" },
        { "Bytes", """{"Data":"not base64!"}""" },
        { "Bytes", """{"Data":[1,2]}""" },
        { "Point", """{"X":null}""" },
        { "WithValueTypes", """{"Where":null}""" },
        { "WithValueTypes", """{"Price":"EUR 1"}""" },
        { "NestedRecords", """{"Customer":{"Home":[]}}""" },
        { "NestedRecords", """{"Customer":5}""" },
        { "List<Line>", """{"Sku":"a"}""" },
        { "List<Line>", """[{"Quantity":[]}]""" },
        { "StructRecord", """{"Color":"Red"}""" },
        { "InitRequiredMix", """{"Id":"i"}""" },
        { "Dates", """{"Day":"2026-1-2"}""" },
        { "Dates", """{"Day":"2026-01-02T00:00:00"}""" },
        { "Dates", """{"Day":"2023-02-29"}""" },
        { "Dates", """{"Day":20260102}""" },
        { "Dates", """{"Time":"25:00:00"}""" },
        { "Dates", """{"Time":"1.03:04:05"}""" },
        { "Dates", """{"Time":5}""" },
        { "Dates", """{"Time":" 03:04:05"}""" },
    };

    private static ShapeAssemblies Shapes => ShapeAssemblies.Instance;

    [Fact]
    public void At_least_thirty_task_shapes_each_with_a_payload_both_accept()
    {
        Assert.True(SerializationShapes.TaskTypes.Length >= 30, "shapes: " + SerializationShapes.TaskTypes.Length);
        var accepted = Accepted.Select(row => (string)row[0]).ToHashSet(StringComparer.Ordinal);
        Assert.All(SerializationShapes.TaskTypes, t => Assert.Contains(t, accepted));
        Assert.Equal(SerializationShapes.TaskTypes.Length, Shapes.Types.Length);
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Both_serializers_accept_the_payload_and_write_identical_JSON(string taskType, string payload)
    {
        var shape = Shapes.IndexOf(taskType);
        var json = Encoding.UTF8.GetBytes(payload);

        var fromStj = Shapes.StjRead(shape, json);
        var generated = Shapes.GeneratedRead(shape, json);
        Assert.NotNull(fromStj);
        Assert.NotNull(generated);

        // Identical JSON for the same value, and identical values read (each serializer writes both).
        var expected = Text(Shapes.StjWrite(shape, fromStj));
        Assert.Equal(expected, Text(Shapes.GeneratedWrite(shape, fromStj)));
        Assert.Equal(expected, Text(Shapes.StjWrite(shape, generated)));
        Assert.Equal(expected, Text(Shapes.GeneratedWrite(shape, generated)));

        // And the round trip through the generated serializer alone is stable.
        var again = Shapes.GeneratedRead(shape, Shapes.GeneratedWrite(shape, generated));
        Assert.Equal(expected, Text(Shapes.StjWrite(shape, again)));
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Both_serializers_reject_the_payload(string taskType, string payload)
    {
        var shape = Shapes.IndexOf(taskType);
        var json = Encoding.UTF8.GetBytes(payload);

        var stj = Record.Exception(() => Shapes.StjRead(shape, json));
        var generated = Record.Exception(() => Shapes.GeneratedRead(shape, json));

        // System.Text.Json reads the payload null as null; a task serializer rejects it (the documented difference).
        Assert.True(stj is JsonException || (payload == "null" && stj is null), "System.Text.Json: " + (stj?.ToString() ?? "accepted"));
        Assert.IsType<TaskDeserializationException>(generated);
    }

    [Theory]
    [InlineData("Primitives", """{"Text":"t","I":"5"}""", "$.I")]
    [InlineData("Lists", """{"Lines":[{"Sku":"s","Quantity":1,"Price":1},{"Sku":"s","Quantity":"x"}]}""", "$.Lines[1].Quantity")]
    [InlineData("Lists", """{"Nested":[[1],[2,null]]}""", "$.Nested[1][1]")]
    [InlineData("Dictionaries", """{"Groups":{"g":["a",5]}}""", "$.Groups.g[1]")]
    [InlineData("NestedRecords", """{"Customer":{"Name":"c","Home":{"Street":[]}}}""", "$.Customer.Home.Street")]
    [InlineData("RenamedProperties", """{"order_id":1}""", "$.order_id")]
    [InlineData("WellKnown", """{"Span":"soon"}""", "$.Span")]
    [InlineData("List<Line>", """[{"Sku":"a"},{"Price":"p"}]""", "$[1].Price")]
    [InlineData("Primitives", """{"I":1} x""", "$ (byte")]
    public void A_rejected_payload_names_the_task_type_and_the_member_path(string taskType, string payload, string path)
    {
        var shape = Shapes.IndexOf(taskType);

        var error = Assert.Throws<TaskDeserializationException>(() => Shapes.GeneratedRead(shape, Encoding.UTF8.GetBytes(payload)));

        var display = taskType == "List<Line>" ? "System.Collections.Generic.List<Shapes.Line>" : "Shapes." + taskType;
        Assert.StartsWith("Payload is not a valid " + display + " at " + path, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public void A_missing_required_member_is_named_in_the_error()
    {
        var shape = Shapes.IndexOf("RequiredMembers");

        var error = Assert.Throws<TaskDeserializationException>(() => Shapes.GeneratedRead(shape, Encoding.UTF8.GetBytes("""{"Optional":"o"}""")));

        Assert.Contains("missing required properties including: 'Name', 'Count'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_JSON_null_payload_is_rejected_with_the_task_type()
    {
        var error = Assert.Throws<TaskDeserializationException>(() => Shapes.GeneratedRead(Shapes.IndexOf("Primitives"), "null"u8.ToArray()));

        Assert.Equal("Payload of type Shapes.Primitives was JSON null.", error.Message);
    }

    /// <summary>
    /// The documented difference on write: a null byte[] is written as null by the generated serializer (and by System.Text.Json's
    /// metadata-based serializer), but as "" by System.Text.Json's source-generated fast path, which then reads back an empty array.
    /// </summary>
    [Fact]
    public void A_null_byte_array_is_written_as_null_where_the_STJ_fast_path_writes_an_empty_string()
    {
        var shape = Shapes.IndexOf("Bytes");
        var json = """{"Data":"AQID","Maybe":null,"AsList":[]}"""u8.ToArray();

        var generated = Shapes.GeneratedRead(shape, json);
        var fromStj = Shapes.StjRead(shape, json);

        Assert.Equal("""{"Data":"AQID","Maybe":null,"AsList":[]}""", Text(Shapes.GeneratedWrite(shape, generated)));
        Assert.Equal("""{"Data":"AQID","Maybe":null,"AsList":[]}""", Text(Shapes.GeneratedWrite(shape, fromStj)));
        Assert.Equal("""{"Data":"AQID","Maybe":"","AsList":[]}""", Text(Shapes.StjWrite(shape, generated)));
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
