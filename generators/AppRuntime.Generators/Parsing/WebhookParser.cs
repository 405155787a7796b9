using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AppRuntime.Generators.Diagnostics;
using AppRuntime.Generators.Model;
using Microsoft.CodeAnalysis;

namespace AppRuntime.Generators.Parsing;

/// <summary>
/// Turns a class with [WebhookSource] (AppRuntime.Webhooks) into a source <see cref="ComponentModel"/> with a <see cref="WebhookModel"/>:
/// the queue, name, path and signature settings of the attribute, and the request and task types of the
/// <c>IWebhookSource&lt;TTask&gt;</c> or <c>IWebhookSource&lt;TRequest, TTask&gt;</c> it implements. The rules on the declaration alone
/// (name, path, signature settings) are checked here; the rest (queue, duplicate paths, serializers, appsettings) in the composition.
/// </summary>
internal static class WebhookParser
{
    public const string AttributeName = "WebhookSource";

    private static readonly string[] Schemes = { "StandardWebhooks", "GitHub", "Stripe", "Hmac", "None" };
    private static readonly string[] Encodings = { "Hex", "Base64" };

    public static ComponentModel? Parse(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        if (context.TargetSymbol is not INamedTypeSymbol type || context.Attributes.IsEmpty)
            return null;
        var attribute = context.Attributes[0];
        var location = type.LocationOf(ct);
        var diagnostics = new List<DiagnosticInfo>();

        ComponentParser.TypeChecks(type, AttributeName, location, diagnostics);
        var dependencies = ComponentParser.Constructor(type, location, diagnostics);

        var queue = attribute.ConstructorArguments.Length > 0 ? attribute.ConstructorArguments[0].Value as string : null;
        var queueLocation = attribute.ArgumentLocation(null, 0, ct);
        if (!SymbolHelpers.IsValidName(queue))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, queueLocation, "Queue name", queue ?? "", SymbolHelpers.NameRule));

        var name = attribute.Named<string>("Name", null) ?? SymbolHelpers.Kebab(type.Name);
        var nameLocation = attribute.ArgumentLocation("Name", -1, ct);
        if (!IsValidSourceName(name))
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidName, nameLocation, "Webhook source name", name, SourceNameRule));

        var explicitPath = attribute.Named<string>("Path", null);
        var path = explicitPath ?? "/webhooks/" + name;
        var pathLocation = attribute.ArgumentLocation("Path", -1, ct);
        // The default path is made of the name: an invalid name is reported once, as a name.
        if ((explicitPath is not null || IsValidSourceName(name)) && CheckPath(path) is { } pathProblem)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidWebhookPath, pathLocation, path, name, pathProblem));

        var signatureValue = attribute.Named("Signature", 0);
        var signatureLocation = attribute.ArgumentLocation("Signature", -1, ct);
        var encodingValue = attribute.Named("SignatureEncoding", 0);
        var signature = signatureValue >= 0 && signatureValue < Schemes.Length ? Schemes[signatureValue] : null;
        var encoding = encodingValue >= 0 && encodingValue < Encodings.Length ? Encodings[encodingValue] : null;
        var signatureHeader = attribute.Named<string>("SignatureHeader", null);
        var signaturePrefix = attribute.Named<string>("SignaturePrefix", null);
        var eventIdHeader = attribute.Named<string>("EventIdHeader", null);
        var eventIdJsonPath = attribute.Named<string>("EventIdJsonPath", null);
        var settingsProblem = signature is null ? "Signature " + signatureValue + " is not a WebhookSignature value"
            : encoding is null ? "SignatureEncoding " + encodingValue + " is not a WebhookSignatureEncoding value"
            : CheckSettings(signature, signatureHeader, signaturePrefix, eventIdHeader, eventIdJsonPath);
        if (settingsProblem is not null)
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.InvalidWebhookSettings, attribute.LocationOf(ct), name, settingsProblem));

        var taskTypes = new List<TypeRef>();
        TypeRef? requestType = null;
        var isMapped = false;
        SerializerModel? requestSerializer = null;
        var mapped = type.ImplementationsOf(KnownNames.WebhookMappingInterface).OrderBy(i => i.Fq(), System.StringComparer.Ordinal).FirstOrDefault();
        var identity = type.ImplementationsOf(KnownNames.WebhookSourceInterface).OrderBy(i => i.Fq(), System.StringComparer.Ordinal).FirstOrDefault();
        if (mapped is not null)
        {
            isMapped = true;
            requestType = mapped.TypeArguments[0].ToRef();
            taskTypes.Add(mapped.TypeArguments[1].ToRef());
            requestSerializer = SerializerParser.Parse(mapped.TypeArguments[0]);
        }
        else if (identity is not null)
        {
            requestType = identity.TypeArguments[0].ToRef();
            taskTypes.Add(requestType);
        }
        else
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MissingInterface, location, type.Display(), AttributeName,
                "AppRuntime.IWebhookSource<TTask> or AppRuntime.IWebhookSource<TRequest, TTask>"));
        }

        var observerTypes = type.ImplementationsOf(KnownNames.OutcomeObserverInterface).Select(o => o.TypeArguments[0].Fq())
            .OrderBy(t => t, System.StringComparer.Ordinal).ToList();

        var webhook = requestType is null ? null : new WebhookModel(path, signature ?? "StandardWebhooks", signatureHeader, encoding ?? "Hex", signaturePrefix,
            eventIdHeader, eventIdJsonPath, isMapped, requestType,
            requestSerializer ?? new SerializerModel(true, null, null, EquatableArray<JsonObjectModel>.Empty, EquatableArray<JsonEnumModel>.Empty),
            pathLocation, signatureLocation);

        return new ComponentModel(ComponentKind.Source, type.ToRef(), location, queue, queueLocation, name, nameLocation, LifetimeModel.Singleton, null,
            taskTypes.ToEquatableArray(), observerTypes.ToEquatableArray(), dependencies.ToEquatableArray(),
            EquatableArray<MutableFieldModel>.Empty, diagnostics.ToEquatableArray(), webhook);
    }

    public const string SourceNameRule = "use 1-100 characters of letters, digits, '-', '_' or '.' (the name is a configuration key segment)";

    /// <summary>Mirrors AppRuntime.Webhooks' source name rule: a name without ':'.</summary>
    public static bool IsValidSourceName(string? name) =>
        !string.IsNullOrEmpty(name) && name!.Length <= 100 && name.All(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.');

    /// <summary>Mirrors AppRuntime.Webhooks' path rule: null when valid, else what is wrong.</summary>
    public static string? CheckPath(string? path)
    {
        if (string.IsNullOrEmpty(path))
            return "it is empty";
        if (path![0] != '/')
            return "it must start with '/'";
        if (path.Length > 200)
            return "it is longer than 200 characters";
        if (path.Length > 1 && path[path.Length - 1] == '/')
            return "it must not end with '/'";
        foreach (var segment in path.Substring(1).Split('/'))
        {
            if (segment.Length == 0 && path.Length > 1)
                return "it has an empty segment ('//')";
            if (segment is "." or "..")
                return "it has a '.' or '..' segment";
            foreach (var c in segment)
            {
                if (!(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '.' or '_' or '~'))
                    return "'" + c + "' is not allowed (use letters, digits and - . _ ~)";
            }
        }
        return null;
    }

    /// <summary>Mirrors AppRuntime.Webhooks' rules for the signature and event id settings: null when they fit together.</summary>
    public static string? CheckSettings(string signature, string? signatureHeader, string? signaturePrefix, string? eventIdHeader, string? eventIdJsonPath)
    {
        if (signature == "Hmac" && string.IsNullOrWhiteSpace(signatureHeader))
            return "the Hmac scheme needs SignatureHeader";
        if (signature != "Hmac" && (signatureHeader is not null || signaturePrefix is not null))
            return "SignatureHeader and SignaturePrefix apply to the Hmac scheme only, not to " + signature;
        if (signatureHeader is not null && !IsHeaderName(signatureHeader))
            return "SignatureHeader '" + signatureHeader + "' is not a header name";
        if (eventIdHeader is not null && eventIdJsonPath is not null)
            return "set EventIdHeader or EventIdJsonPath, not both";
        if (eventIdHeader is not null && !IsHeaderName(eventIdHeader))
            return "EventIdHeader '" + eventIdHeader + "' is not a header name";
        if (eventIdJsonPath is not null && (eventIdJsonPath.Length is 0 or > 200 || eventIdJsonPath.Split('.').Any(s => s.Length == 0 || s.Any(char.IsWhiteSpace))))
            return "EventIdJsonPath '" + eventIdJsonPath + "' must be member names separated by '.' (such as 'id' or 'data.id')";
        return null;
    }

    private static bool IsHeaderName(string name) =>
        name.Length is > 0 and <= 100 && name.All(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' || "!#$%&'*+-.^_`|~".IndexOf(c) >= 0);
}
