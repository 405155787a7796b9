using System;
using System.Collections.Generic;
using System.Linq;
using AppRuntime.Generators.Model;

namespace AppRuntime.Generators.Diagnostics;

/// <summary>
/// The checks of [WebhookSource]s that need the whole composition: one path per source (APPRT0040), request and task types that
/// are read without reflection (APPRT0042: the generated serializer, or a JsonSerializerContext of the app that lists the type), and
/// the secret key in appsettings*.json (APPRT0043). A source that fails the first two is not registered (its registration would
/// not compile); the module still is.
/// </summary>
internal static class WebhookValidator
{
    private const string SecretsRoot = "AppRuntime:Webhooks:Sources:";

    /// <returns>The sources to emit: every other source, and the webhook sources that passed, with their request serializer chosen.</returns>
    public static List<ComponentModel> Validate(List<ComponentModel> sources, Dictionary<string, QueueModel> queues, IReadOnlyList<AppSettingsModel> settings,
        EquatableArray<JsonContextModel> contexts, List<DiagnosticInfo> diagnostics)
    {
        var result = new List<ComponentModel>();
        var paths = new Dictionary<string, ComponentModel>(StringComparer.OrdinalIgnoreCase);
        var readable = settings.Where(f => f.ParseError is null).OrderBy(f => f.FileName, StringComparer.OrdinalIgnoreCase).ToList();
        var keys = new HashSet<string>(readable.SelectMany(f => f.Keys).Select(k => k.Path), StringComparer.OrdinalIgnoreCase);

        foreach (var source in sources)
        {
            if (source.Webhook is not { } webhook)
            {
                result.Add(source);
                continue;
            }
            var name = source.SourceName!;
            var usable = true;
            if (paths.TryGetValue(webhook.Path, out var first))
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.DuplicateWebhookPath, webhook.PathLocation ?? source.Location, name, webhook.Path, first.SourceName!));
                usable = false;
            }
            else
            {
                paths.Add(webhook.Path, source);
            }

            var queue = queues[source.Queue!];
            if (!queue.Serializer.HasSerializer)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.WebhookTypeNotSerializable, source.Location, webhook.IsMapped ? "task" : "request and task",
                    queue.TaskType.Display, name, queue.Serializer.Reason ?? "unsupported type"));
                usable = false;
            }
            var requestSerializer = webhook.RequestSerializer;
            if (webhook.IsMapped)
            {
                var context = contexts.OrderBy(c => c.TypeFullyQualified, StringComparer.Ordinal)
                    .FirstOrDefault(c => c.Types.Contains(webhook.RequestType.FullyQualified));
                if (context is not null)
                {
                    requestSerializer = new SerializerModel(requestSerializer.IsSupported, requestSerializer.Reason, null, EquatableArray<JsonObjectModel>.Empty,
                        EquatableArray<JsonEnumModel>.Empty, context.TypeFullyQualified);
                }
                if (!requestSerializer.HasSerializer)
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.WebhookTypeNotSerializable, source.Location, "request", webhook.RequestType.Display, name,
                        requestSerializer.Reason ?? "unsupported type"));
                    usable = false;
                }
            }

            if (webhook.NeedsSecrets && readable.Count > 0)
            {
                var key = SecretsRoot + name + ":Secrets";
                if (!keys.Contains(key) && !keys.Any(k => k.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticIds.MissingWebhookSecret, webhook.SignatureLocation ?? source.Location, name, webhook.Signature,
                        string.Join(", ", readable.Select(f => f.FileName))));
                }
            }

            if (usable)
                result.Add(source with { Webhook = webhook with { RequestSerializer = requestSerializer } });
        }
        return result;
    }
}
