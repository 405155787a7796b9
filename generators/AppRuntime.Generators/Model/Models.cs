using System.Linq;

namespace AppRuntime.Generators.Model;

/// <summary>A type referenced by generated code.</summary>
/// <param name="FullyQualified">The <c>global::</c>-qualified name used in generated code (also the identity key).</param>
/// <param name="Display">The name shown in messages and the topology.</param>
internal sealed record TypeRef(string FullyQualified, string Display);

/// <summary>One constructor parameter and what it needs from DI.</summary>
internal sealed record DependencyModel(
    string ParameterName,
    TypeRef Type,
    string? OpenGenericKey,
    EquatableArray<string> TypeArguments,
    bool IsOptional,
    LocationInfo? Location);

internal enum ComponentKind
{
    Source,
    Handler,
    Service,
    HealthContributor,
}

/// <summary>Service lifetimes, mirrored so the model has no dependency on DI types.</summary>
internal enum LifetimeModel
{
    Singleton = 0,
    Scoped = 1,
    Transient = 2,
}

/// <summary>A class carrying [TaskSource], [TaskHandler], [Service] or [HealthContributor].</summary>
internal sealed record ComponentModel(
    ComponentKind Kind,
    TypeRef Type,
    LocationInfo? Location,
    string? Queue,
    LocationInfo? QueueLocation,
    string? SourceName,
    LocationInfo? SourceNameLocation,
    LifetimeModel Lifetime,
    TypeRef? AsType,
    EquatableArray<TypeRef> TaskTypes,
    EquatableArray<string> ObserverTaskTypes,
    EquatableArray<DependencyModel> Dependencies,
    EquatableArray<MutableFieldModel> MutableFields,
    EquatableArray<DiagnosticInfo> Diagnostics,
    WebhookModel? Webhook = null,
    ScheduleModel? Schedule = null,
    bool Exclusive = false)
{
    /// <summary>True when the type itself is valid enough to be registered.</summary>
    /// <remarks>Warnings about the component (a schedule that never fires) do not keep it from being registered.</remarks>
    public bool IsUsable => !Diagnostics.Any(d => AppRuntime.Generators.Diagnostics.Descriptors.Get(d.Id).DefaultSeverity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error);

    /// <summary>The DI key it is registered as ([Service] only).</summary>
    public TypeRef RegisteredAs => AsType ?? Type;
}

internal sealed record MutableFieldModel(string Name, LocationInfo? Location);

/// <summary>
/// What a [WebhookSource] declares besides being a source: its path, signature settings (enum values as their names) and the
/// type its body is read as (<see cref="RequestType"/>; the task type itself when <see cref="IsMapped"/> is false).
/// </summary>
internal sealed record WebhookModel(
    string Path,
    string Signature,
    string? SignatureHeader,
    string SignatureEncoding,
    string? SignaturePrefix,
    string? EventIdHeader,
    string? EventIdJsonPath,
    bool IsMapped,
    TypeRef RequestType,
    SerializerModel RequestSerializer,
    LocationInfo? PathLocation,
    LocationInfo? SignatureLocation)
{
    /// <summary>Every scheme but None verifies with secrets from configuration.</summary>
    public bool NeedsSecrets => Signature != "None";
}
/// <summary>The schedule of a [ScheduledSource]: the expression, the time zone and the policies (enum values as declared).</summary>
internal sealed record ScheduleModel(string Cron, string TimeZone, int Missed, int Overlap, LocationInfo? CronLocation, LocationInfo? TimeZoneLocation);

/// <summary>A [TaskQueue&lt;T&gt;] declaration on a module.</summary>
internal sealed record QueueModel(
    string Name,
    TypeRef TaskType,
    int Capacity,
    int VisibilityTimeoutSeconds,
    string? Backend,
    LocationInfo? Location,
    LocationInfo? NameLocation,
    LocationInfo? CapacityLocation,
    LocationInfo? VisibilityLocation,
    SerializerModel Serializer);

/// <summary>A [WorkerPool] declaration on a module.</summary>
internal sealed record PoolModel(
    string Queue,
    int Workers,
    int MaxAttempts,
    int RetryDelayMilliseconds,
    string? WorkersConfigKey,
    LocationInfo? Location,
    LocationInfo? QueueLocation,
    LocationInfo? WorkersLocation,
    LocationInfo? MaxAttemptsLocation,
    LocationInfo? RetryDelayLocation);

internal sealed record ImportModel(TypeRef Type, LocationInfo? Location);

/// <summary>An [ApplicationModule] class and the declarations on it.</summary>
internal sealed record ModuleModel(
    string Name,
    TypeRef Type,
    string? Namespace,
    string ClassName,
    LocationInfo? Location,
    LocationInfo? NameLocation,
    EquatableArray<QueueModel> Queues,
    EquatableArray<PoolModel> Pools,
    EquatableArray<ImportModel> Imports,
    EquatableArray<DiagnosticInfo> Diagnostics)
{
    /// <summary>The generated extension method's name: <c>Add</c> + class name.</summary>
    public string MethodName => "Add" + ClassName;

    public bool CanEmit => Diagnostics.IsEmpty;
}

internal enum ShapeKind
{
    Scalar,
    Array,
    List,
    Dictionary,
    Object,
}

internal enum ScalarKind
{
    None,
    String,
    Boolean,
    Char,
    Byte,
    SByte,
    Int16,
    UInt16,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Single,
    Double,
    Decimal,
    DateTime,
    DateTimeOffset,
    TimeSpan,
    DateOnly,
    TimeOnly,
    Guid,
    Uri,
    Enum,
}

/// <summary>
/// The shape of a value the generated binder or serializer reads and writes. <see cref="TypeFullyQualified"/> is the
/// declared type without nullable annotations; <see cref="IsNullableValue"/> marks <c>Nullable&lt;T&gt;</c>.
/// </summary>
internal sealed record ValueShape(
    ShapeKind Kind,
    string TypeFullyQualified,
    ScalarKind Scalar,
    bool IsNullableValue,
    ValueShape? Element,
    string AnnotatedType)
{
    /// <summary>For <see cref="ShapeKind.Object"/>: the object type (key into the object list).</summary>
    public string ObjectKey => TypeFullyQualified;
}

/// <summary>When a member is left out on write ([JsonIgnore(Condition = ...)]); Always-ignored members are not in the model.</summary>
internal enum JsonIgnoreMode
{
    None,
    WhenWritingNull,
    WhenWritingDefault,
}

/// <summary>One member (public property) of a JSON-serialized type, in System.Text.Json's order.</summary>
/// <param name="Name">The CLR property name.</param>
/// <param name="JsonName">The JSON name: [JsonPropertyName] or the CLR name as-is.</param>
/// <param name="CanRead">Set from JSON: bound to a constructor parameter, or a public set/init accessor.</param>
/// <param name="ConstructorIndex">The constructor parameter it binds to, or -1.</param>
/// <param name="IsInitOnly">Has an init accessor (set in the object initializer, default when missing).</param>
/// <param name="IsSettable">Has a public set accessor (assigned after construction, only when present).</param>
/// <param name="IsRequired">C# <c>required</c> or [JsonRequired]: missing from JSON is an error.</param>
/// <param name="EnumAsString">[JsonConverter(typeof(JsonStringEnumConverter&lt;T&gt;))] on the property.</param>
internal sealed record JsonMemberModel(
    string Name,
    string JsonName,
    ValueShape Shape,
    JsonIgnoreMode Ignore,
    bool CanRead,
    int ConstructorIndex,
    bool IsInitOnly,
    bool IsSettable,
    bool IsRequired,
    bool EnumAsString);

/// <summary>A constructor parameter: the member it reads (index into Members, -1 when ignored) and its value when missing.</summary>
internal sealed record JsonParameterModel(int MemberIndex, string DefaultValue);

/// <summary>A task type (or a type nested in one) the generated serializer handles.</summary>
internal sealed record JsonObjectModel(
    string TypeFullyQualified,
    string Display,
    bool IsValueType,
    EquatableArray<JsonMemberModel> Members,
    EquatableArray<JsonParameterModel> Parameters);

/// <summary>An enum type met in a serialized type: numbers by default, names with JsonStringEnumConverter.</summary>
/// <param name="Underlying">The underlying type keyword (int, byte, ...).</param>
/// <param name="AsString">[JsonConverter(typeof(JsonStringEnumConverter&lt;T&gt;))] on the enum type.</param>
/// <param name="Names">One member name per distinct value, the first declared.</param>
internal sealed record JsonEnumModel(
    string TypeFullyQualified,
    string Display,
    string Underlying,
    bool AsString,
    EquatableArray<string> Names);

/// <summary>
/// How a queue's task type is serialized without reflection: by generated code (<see cref="IsSupported"/>), or by the
/// app's System.Text.Json context (<see cref="Context"/>, set by the composition when a context lists the type).
/// </summary>
/// <param name="ReasonLocation">Where the member or constructor parameter at fault is declared (when in source); diagnostics only.</param>
internal sealed record SerializerModel(
    bool IsSupported,
    string? Reason,
    ValueShape? Root,
    EquatableArray<JsonObjectModel> Objects,
    EquatableArray<JsonEnumModel> Enums,
    string? Context = null,
    LocationInfo? ReasonLocation = null)
{
    /// <summary>True when the module registers a serializer: the app's context, else generated code.</summary>
    public bool HasSerializer => Context is not null || IsSupported;
}

/// <summary>A JsonSerializerContext subclass of the compilation and the types its [JsonSerializable] attributes list.</summary>
internal sealed record JsonContextModel(string TypeFullyQualified, EquatableArray<string> Types);

/// <summary>A validation rule from System.ComponentModel.DataAnnotations, with arguments as C# literals.</summary>
internal sealed record ValidationRuleModel(string Kind, string? Argument1, string? Argument2);

/// <summary>One bindable member of a configuration type.</summary>
/// <param name="EnumNames">For an enum member (or a nullable one): the names of its values, to check settings at build time.</param>
internal sealed record ConfigMemberModel(
    string Name,
    ValueShape Shape,
    bool IsRequired,
    bool IsSecret,
    bool IsReferenceNullable,
    EquatableArray<ValidationRuleModel> Rules,
    LocationInfo? Location,
    EquatableArray<string> EnumNames = default);

/// <summary>A configuration class (a [ConfigSection] root or a class nested in one) that gets a generated binder.</summary>
internal sealed record ConfigTypeModel(
    TypeRef Type,
    string? Namespace,
    string ClassName,
    string DeclarationKeyword,
    EquatableArray<string> ContainingTypes,
    bool HasExplicitParameterlessConstructor,
    bool HasAnyExplicitConstructor,
    string? SectionPath,
    EquatableArray<ConfigMemberModel> Members,
    EquatableArray<string> ReadOnlyMembers = default)
{
    public bool IsRoot => SectionPath is not null;
}

/// <summary>A [ConfigSection] class with every class it binds.</summary>
internal sealed record ConfigSectionModel(
    string Path,
    TypeRef Type,
    LocationInfo? Location,
    EquatableArray<ConfigTypeModel> Types,
    EquatableArray<DiagnosticInfo> Diagnostics)
{
    public bool CanEmit => Diagnostics.IsEmpty;
}

/// <summary>The JSON kind of a setting's value.</summary>
internal enum SettingKind
{
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
}

/// <summary>One key found in an appsettings*.json file, with its value (the text of a string, number or boolean) and where it is.</summary>
internal sealed record JsonKeyModel(string Path, LocationInfo Location, SettingKind Kind = SettingKind.Object, string? Value = null, LocationInfo? ValueLocation = null);

/// <summary>An appsettings*.json file passed as an AdditionalFile.</summary>
internal sealed record AppSettingsModel(string FileName, EquatableArray<JsonKeyModel> Keys, DiagnosticInfo? ParseError);
