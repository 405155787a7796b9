namespace AppRuntime.Generators.Parsing;

/// <summary>Metadata names of the attributes and contracts the generator reads.</summary>
internal static class KnownNames
{
    public const string ApplicationModuleAttribute = "AppRuntime.ApplicationModuleAttribute";
    public const string TaskQueueAttribute = "AppRuntime.TaskQueueAttribute`1";
    public const string WorkerPoolAttribute = "AppRuntime.WorkerPoolAttribute";
    public const string TaskSourceAttribute = "AppRuntime.TaskSourceAttribute";
    public const string TaskHandlerAttribute = "AppRuntime.TaskHandlerAttribute";
    public const string ConfigSectionAttribute = "AppRuntime.ConfigSectionAttribute";
    public const string SecretAttribute = "AppRuntime.SecretAttribute";
    public const string TimeRangeAttribute = "AppRuntime.TimeRangeAttribute";
    public const string ServiceAttribute = "AppRuntime.ServiceAttribute";
    public const string HealthContributorAttribute = "AppRuntime.HealthContributorAttribute";
    public const string ImportServiceAttribute = "AppRuntime.ImportServiceAttribute";
    public const string ScheduledSourceAttribute = "AppRuntime.ScheduledSourceAttribute";

    public const string TaskHandlerInterface = "AppRuntime.ITaskHandler`1";
    public const string TaskSourceInterface = "AppRuntime.ITaskSource`1";
    public const string OutcomeObserverInterface = "AppRuntime.ITaskOutcomeObserver`1";
    public const string HealthContributorInterface = "AppRuntime.IHealthContributor";
    public const string TaskPublisherInterface = "AppRuntime.ITaskPublisher`1";
    public const string ConfigSectionInterface = "AppRuntime.IConfigSection`1";
    public const string ScheduledSourceInterface = "AppRuntime.IScheduledSource`1";

    public const string WebhookSourceAttribute = "AppRuntime.WebhookSourceAttribute";
    public const string WebhookSourceInterface = "AppRuntime.IWebhookSource`1";
    public const string WebhookMappingInterface = "AppRuntime.IWebhookSource`2";

    public const string JsonSerializableAttribute = "System.Text.Json.Serialization.JsonSerializableAttribute";
    public const string JsonSerializerContext = "System.Text.Json.Serialization.JsonSerializerContext";

    public const string DataAnnotations = "System.ComponentModel.DataAnnotations.";
}
