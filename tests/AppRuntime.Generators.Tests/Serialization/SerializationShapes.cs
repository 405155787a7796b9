namespace AppRuntime.Generators.Tests.Serialization;

/// <summary>
/// The task shapes of the differential test: C# declarations compiled once with the AppRuntime generator (one queue per
/// shape, so the generator writes a serializer for each) and once more, by reference, with System.Text.Json's source
/// generator (a JsonSerializerContext over the same types).
/// </summary>
internal static class SerializationShapes
{
    /// <summary>The task types, as C# in namespace Shapes (the queue of each is "q" and its index).</summary>
    public static readonly string[] TaskTypes =
    [
        "Primitives", "NullablePrimitives", "WellKnown", "PositionalRecord", "RecordWithDefaults", "InitOnly", "SettableWithDefaults",
        "RenamedProperties", "IgnoreAlways", "IgnoreConditions", "RequiredMembers", "JsonRequiredMembers", "NumericEnums",
        "StringEnumProperty", "StringEnumType", "FlagsAsString", "NullableReferences", "NestedRecords", "Lists", "Dictionaries",
        "Bytes", "Point", "WithValueTypes", "Derived", "PropertyOrder", "AnnotatedConstructor", "ConstructorWithIgnoredProperty",
        "Computed", "TreeNode", "Empty", "Hiding", "RecordWithBody", "MutableClass", "NumberLimits", "List<Line>", "StructRecord",
        "InitRequiredMix", "Dates",
    ];

    public const string Source = """
        using System;
        using System.Collections.Generic;
        using System.Text.Json.Serialization;

        namespace Shapes;

        public enum Color { Red, Green, Blue }
        [Flags] public enum Perms { None = 0, Read = 1, Write = 2, Exec = 4 }
        public enum Small : byte { A = 1, B = 200 }
        public enum Big : long { Low = -5, High = 5_000_000_000 }
        [JsonConverter(typeof(JsonStringEnumConverter<Shade>))] public enum Shade { Light, Dark, Dusk = 7 }

        public sealed class Primitives
        {
            public bool Flag { get; set; }
            public byte B { get; set; }
            public sbyte SB { get; set; }
            public short S { get; set; }
            public ushort US { get; set; }
            public int I { get; set; }
            public uint UI { get; set; }
            public long L { get; set; }
            public ulong UL { get; set; }
            public float F { get; set; }
            public double D { get; set; }
            public decimal M { get; set; }
            public char C { get; set; } = 'c';
            public string Text { get; set; } = "";
        }

        public sealed class NullablePrimitives
        {
            public int? I { get; set; }
            public double? D { get; set; }
            public bool? B { get; set; }
            public decimal? M { get; set; }
            public char? C { get; set; }
            public Guid? G { get; set; }
            public DateTimeOffset? When { get; set; }
            public TimeSpan? Span { get; set; }
            public long? L { get; set; } = 5;
        }

        public sealed record WellKnown(DateTime At, DateTimeOffset When, TimeSpan Span, Guid Id, Uri? Link);

        public sealed record Dates(DateOnly Day, TimeOnly Time, DateOnly? MaybeDay, TimeOnly? MaybeTime, List<DateOnly>? Days);

        public sealed record PositionalRecord(string Id, int Count, decimal Price);

        public sealed record RecordWithDefaults(string Name, int Count = 3, decimal Rate = 1.5m, string Label = "x", Color Color = Color.Blue, double Ratio = 0.25);

        public sealed class InitOnly
        {
            public string Name { get; init; } = "default";
            public int X { get; init; } = 7;
            public List<int>? Values { get; init; }
        }

        public sealed class SettableWithDefaults
        {
            public string Name { get; set; } = "default";
            public List<int> Values { get; set; } = [1, 2];
            public int X { get; set; } = 7;
        }

        public sealed class RenamedProperties
        {
            [JsonPropertyName("order_id")] public string Id { get; set; } = "";
            [JsonPropertyName("näme")] public string Name { get; set; } = "";
            [JsonPropertyName("with \"quotes\" <&>")] public int Odd { get; set; }
            [JsonPropertyName("count")] public int Count { get; set; }
            public int count2 { get; set; }
        }

        public sealed class IgnoreAlways
        {
            [JsonIgnore] public string Secret { get; set; } = "hidden";
            public string Shown { get; set; } = "";
            [JsonIgnore] public Action? NotSerializable { get; set; }
        }

        public sealed class IgnoreConditions
        {
            [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? NullText { get; set; }
            [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? NullNumber { get; set; }
            [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int DefaultNumber { get; set; }
            [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public string? DefaultText { get; set; }
            [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Color DefaultColor { get; set; }
            [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public decimal DefaultMoney { get; set; }
            [JsonIgnore(Condition = JsonIgnoreCondition.Never)] public int Never { get; set; }
        }

        public sealed class RequiredMembers
        {
            public required string Name { get; init; }
            public required int Count { get; set; }
            public string? Optional { get; set; }
        }

        public sealed class JsonRequiredMembers
        {
            [JsonRequired] public int A { get; set; }
            [JsonRequired] public string? B { get; set; }
            public int C { get; set; }
        }

        public sealed class NumericEnums
        {
            public Color Color { get; set; }
            public Color? Maybe { get; set; }
            public List<Color> Many { get; set; } = [];
            public Perms Perms { get; set; }
            public Small Small { get; set; } = Small.A;
            public Big Big { get; set; }
        }

        public sealed class StringEnumProperty
        {
            [JsonConverter(typeof(JsonStringEnumConverter<Color>))] public Color Color { get; set; }
            [JsonConverter(typeof(JsonStringEnumConverter<Color>))] public Color? Maybe { get; set; }
            public Color AsNumber { get; set; }
        }

        public sealed class StringEnumType
        {
            public Shade Shade { get; set; }
            public Shade? Maybe { get; set; }
            public List<Shade> Many { get; set; } = [];
            public Dictionary<string, Shade> ByName { get; set; } = new();
        }

        public sealed class FlagsAsString
        {
            [JsonConverter(typeof(JsonStringEnumConverter<Perms>))] public Perms Perms { get; set; }
        }

        public sealed class NullableReferences
        {
            public string? Maybe { get; set; }
            public string Sure { get; set; } = "sure";
            public PositionalRecord? Nested { get; set; }
            public List<string?> Items { get; set; } = [];
            public List<string>? MaybeItems { get; set; }
        }

        public sealed record Address(string Street, string City, string? Zip);
        public sealed record Customer(string Name, Address Home, Address? Work);
        public sealed record NestedRecords(string Id, Customer Customer, List<Address> Shipments);

        public sealed record Line(string Sku, int Quantity, decimal Price);

        public sealed class Lists
        {
            public List<int> Ints { get; set; } = [];
            public int[] Array { get; set; } = [];
            public IReadOnlyList<string> Strings { get; set; } = [];
            public IEnumerable<long> Longs { get; set; } = [];
            public ICollection<decimal> Decimals { get; set; } = [];
            public IList<Line> Lines { get; set; } = [];
            public List<List<int>> Nested { get; set; } = [];
            public List<int?> WithNulls { get; set; } = [];
            public Line[]? MaybeLines { get; set; }
        }

        public sealed class Dictionaries
        {
            public Dictionary<string, int> Counts { get; set; } = new();
            public IReadOnlyDictionary<string, Line> Lines { get; set; } = new Dictionary<string, Line>();
            public IDictionary<string, List<string>> Groups { get; set; } = new Dictionary<string, List<string>>();
            public Dictionary<string, int?> Maybe { get; set; } = new();
            public Dictionary<string, string>? Optional { get; set; }
        }

        public sealed class Bytes
        {
            public byte[] Data { get; set; } = [];
            public byte[]? Maybe { get; set; }
            public List<byte> AsList { get; set; } = [];
        }

        public struct Point
        {
            public int X { get; set; }
            public int Y { get; set; }
        }

        public readonly record struct Money(decimal Amount, string Currency);

        public sealed class WithValueTypes
        {
            public Point Where { get; set; }
            public Point? Maybe { get; set; }
            public Money Price { get; set; }
            public List<Point> Path { get; set; } = [];
        }

        public class Base
        {
            public int BaseValue { get; set; }
            public virtual string Name { get; set; } = "base";
        }

        public sealed class Derived : Base
        {
            public int DerivedValue { get; set; }
            public override string Name { get; set; } = "derived";
        }

        public sealed class PropertyOrder
        {
            [JsonPropertyOrder(2)] public int Last { get; set; }
            public int Middle { get; set; }
            [JsonPropertyOrder(-1)] public int First { get; set; }
            public int AlsoMiddle { get; set; }
        }

        public sealed class AnnotatedConstructor
        {
            public AnnotatedConstructor() => Source = "parameterless";

            [JsonConstructor]
            public AnnotatedConstructor(int value, string? name)
            {
                Value = value;
                Name = name;
                Source = "annotated";
            }

            public int Value { get; }
            public string? Name { get; }
            public string Source { get; set; }
        }

        public sealed class ConstructorWithIgnoredProperty
        {
            public ConstructorWithIgnoredProperty(int a, int b)
            {
                A = a;
                B = b;
            }

            public int A { get; }
            [JsonIgnore] public int B { get; }
            public int Sum => A + B;
        }

        public sealed class Computed
        {
            public int A { get; set; }
            public int B { get; set; }
            public int Total => A + B;
            public string Label { get; private set; } = "fixed";
        }

        public sealed class TreeNode
        {
            public int Value { get; set; }
            public TreeNode? Next { get; set; }
            public List<TreeNode> Children { get; set; } = [];
        }

        public sealed class Empty;

        public class HidingBase
        {
            public string Value { get; set; } = "base";
        }

        public sealed class Hiding : HidingBase
        {
            public new int Value { get; set; }
        }

        public sealed record RecordWithBody(string A, int B)
        {
            public string C { get; init; } = "c";
            public List<string> D { get; set; } = [];
        }

        public sealed class MutableClass
        {
            public string Name { get; set; } = "";
            public int Count { get; set; }
            public List<string> Tags { get; } = [];
            public Address? Address { get; set; }
        }

        public sealed class NumberLimits
        {
            public long MinLong { get; set; }
            public long MaxLong { get; set; }
            public ulong MaxULong { get; set; }
            public double Tiny { get; set; }
            public double Huge { get; set; }
            public float Single { get; set; }
            public decimal Precise { get; set; }
            public decimal Negative { get; set; }
        }

        public readonly record struct StructRecord(int Id, string Name, Color Color);

        public sealed class InitRequiredMix
        {
            public InitRequiredMix(string id) => Id = id;

            public string Id { get; }
            public required List<Line> Lines { get; init; }
            public string Note { get; init; } = "note";
            public int Version { get; set; } = 1;
        }
        """;
}
