using AppRuntime.Generators.Diagnostics;
using Microsoft.CodeAnalysis;
using static AppRuntime.Generators.Tests.DiagnosticVerifier;

namespace AppRuntime.Generators.Tests;

/// <summary>Layer (a): every diagnostic, reported at the marked location ({|#0:...|}).</summary>
public sealed class DiagnosticTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using AppRuntime;
        using Microsoft.Extensions.DependencyInjection;
        using Microsoft.Extensions.Logging;

        namespace Demo;

        public sealed record Job(int Id);
        public sealed record Other(string Name);

        """;

    private const string Module = """
        [ApplicationModule("demo")]
        [TaskQueue<Job>("jobs")]
        [WorkerPool("jobs", Workers = 2)]
        public static partial class DemoModule;

        """;

    private const string JobSource = """
        [TaskSource("jobs")]
        public sealed class JobSource : ITaskSource<Job>
        {
            public Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken) => Task.CompletedTask;
        }

        """;

    private const string JobHandler = """
        [TaskHandler("jobs")]
        public sealed class JobHandler(ILogger<JobHandler> logger) : ITaskHandler<Job>
        {
            public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken)
            {
                logger.LogInformation("job {Id}", task.Id);
                return default;
            }
        }

        """;

    private static string Handler(string name, string queue, string task = "Job", string body = "") => $$"""
        [TaskHandler("{{queue}}")]
        public sealed class {{name}} : ITaskHandler<{{task}}>
        {
            {{body}}
            public ValueTask HandleAsync({{task}} task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        """;

    [Fact]
    public Task A_valid_module_has_no_diagnostics() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler);

    [Fact]
    public Task APPRT0001_a_handler_that_names_an_undeclared_queue_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [TaskHandler({|#0:"jobz"|})]
            public sealed class LostHandler : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) => default;
            }
            """,
            Diagnostic(DiagnosticIds.UndeclaredQueue, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Handler", "Demo.LostHandler", "jobz", "demo", "; did you mean 'jobs'?"));

    [Fact]
    public Task APPRT0001_a_worker_pool_for_an_undeclared_queue_is_an_error() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            [WorkerPool({|#0:"missing"|})]
            public static partial class DemoModule;

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.UndeclaredQueue, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Worker pool", "missing", "missing", "demo", ""));

    [Fact]
    public Task APPRT0002_a_handler_whose_task_type_differs_from_the_queue_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + """
            [TaskHandler("jobs")]
            public sealed class {|#0:WrongHandler|} : ITaskHandler<Other>
            {
                public ValueTask HandleAsync(Other task, TaskContext context, CancellationToken cancellationToken) => default;
            }
            """,
            Diagnostic(DiagnosticIds.TaskTypeMismatch, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Handler", "Demo.WrongHandler", "Demo.Other", "jobs", "Demo.Job"));

    [Fact]
    public Task APPRT0003_a_queue_without_a_handler_is_a_warning() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>({|#0:"jobs"|})]
            public static partial class DemoModule;

            """ + JobSource,
            Diagnostic(DiagnosticIds.QueueWithoutHandler, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("jobs"));

    [Fact]
    public Task APPRT0004_a_queue_without_a_producer_is_information() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>({|#0:"jobs"|})]
            [WorkerPool("jobs")]
            public static partial class DemoModule;

            """ + JobHandler,
            Diagnostic(DiagnosticIds.QueueWithoutProducer, DiagnosticSeverity.Info).WithLocation(0).WithArguments("jobs", "Demo.Job"));

    [Fact]
    public Task APPRT0004_is_not_reported_when_a_component_depends_on_the_queue_publisher() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public static partial class DemoModule;

            [Service]
            public sealed class Scheduler(ITaskPublisher<Job> publisher)
            {
                public ValueTask<string> ScheduleAsync(int id) => publisher.PublishAsync(new Job(id));
            }

            """ + JobHandler);

    [Fact]
    public Task APPRT0005_two_queues_with_one_name_is_an_error() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [TaskQueue<Job>({|#0:"jobs"|})]
            [WorkerPool("jobs")]
            public static partial class DemoModule;

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.DuplicateQueue, DiagnosticSeverity.Error).WithLocation(0).WithArguments("jobs"));

    [Fact]
    public Task APPRT0006_two_handlers_for_one_queue_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [TaskHandler("jobs")]
            public sealed class {|#0:SecondHandler|} : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) => default;
            }
            """,
            Diagnostic(DiagnosticIds.DuplicateHandler, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.SecondHandler", "jobs", "Demo.JobHandler"));

    [Fact]
    public Task APPRT0007_a_constructor_dependency_nothing_provides_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + """
            public interface IClock { DateTimeOffset Now { get; } }

            [TaskHandler("jobs")]
            public sealed class JobHandler(IClock {|#0:clock|}) : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) { _ = clock.Now; return default; }
            }
            """,
            Diagnostic(DiagnosticIds.UnresolvedDependency, DiagnosticSeverity.Error).WithLocation(0).WithArguments("clock", "Demo.JobHandler", "Demo.IClock", ""));

    [Fact]
    public Task APPRT0007_is_not_reported_for_imported_host_and_declared_services() =>
        VerifyAsync(Usings + """
            public interface IClock { DateTimeOffset Now { get; } }
            public interface IStore { }

            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            [ImportService(typeof(IClock))]
            public static partial class DemoModule;

            [Service(As = typeof(IStore))]
            public sealed class Store : IStore { }

            [TaskHandler("jobs")]
            public sealed class JobHandler(IClock clock, IStore store, ILogger<JobHandler> logger, TimeProvider time,
                Microsoft.Extensions.Configuration.IConfiguration configuration, ITaskPublisher<Job> publisher) : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken)
                {
                    _ = (clock, store, logger, time, configuration, publisher);
                    return default;
                }
            }

            """ + JobSource);

    [Fact]
    public Task A_config_section_nested_in_another_section_keeps_its_own_section_members() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [ConfigSection("Demo:Mail")]
            public sealed partial class MailSettings
            {
                public string Host { get; set; } = "";
                public SmtpAuth Auth { get; set; } = new();
            }

            [ConfigSection("Demo:Auth")]
            public sealed partial class SmtpAuth
            {
                public string User { get; set; } = "";
            }

            [Service]
            public sealed class Mailer(MailSettings mail, SmtpAuth auth, Microsoft.Extensions.Options.IOptions<SmtpAuth> options)
            {
                public string Describe() => mail.Host + auth.User + options.Value.User;
            }
            """);

    [Fact]
    public Task APPRT0008_a_dependency_cycle_is_an_error_that_shows_the_chain() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [Service]
            public sealed class {|#0:Alpha|}(Beta beta) { public Beta Beta { get; } = beta; }

            [Service]
            public sealed class Beta(Gamma gamma) { public Gamma Gamma { get; } = gamma; }

            [Service]
            public sealed class Gamma(Alpha alpha) { public Alpha Alpha { get; } = alpha; }
            """,
            Diagnostic(DiagnosticIds.DependencyCycle, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.Alpha -> Demo.Beta -> Demo.Gamma -> Demo.Alpha"));

    [Fact]
    public Task APPRT0009_a_singleton_that_depends_on_a_scoped_service_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [Service(ServiceLifetime.Scoped)]
            public sealed class UnitOfWork { }

            [Service]
            public sealed class Cache(UnitOfWork {|#0:work|}) { public UnitOfWork Work { get; } = work; }
            """,
            Diagnostic(DiagnosticIds.LifetimeMismatch, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Singleton service", "Demo.Cache", "Demo.UnitOfWork"));

    [Fact]
    public Task APPRT0010_a_module_class_that_is_not_partial_is_an_error() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public static class {|#0:DemoModule|} { }

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.MustBePartial, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.DemoModule", "the AddDemoModule extension method"));

    [Fact]
    public Task APPRT0010_a_config_section_that_is_not_partial_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [ConfigSection("Demo:Mail")]
            public sealed class {|#0:MailSettings|} { public string Host { get; set; } = ""; }
            """,
            Diagnostic(DiagnosticIds.MustBePartial, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.MailSettings", "a generated configuration binder"));

    [Fact]
    public Task APPRT0011_an_abstract_handler_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + """
            [TaskHandler("jobs")]
            public abstract class {|#0:BaseHandler|} : ITaskHandler<Job>
            {
                public abstract ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken);
            }
            """,
            Diagnostic(DiagnosticIds.MustNotBeAbstract, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.BaseHandler", "TaskHandler"));

    [Fact]
    public Task APPRT0012_a_generic_service_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [Service]
            public sealed class {|#0:Repository|}<T> { }
            """,
            Diagnostic(DiagnosticIds.MustNotBeGeneric, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.Repository<T>", "Service"));

    [Fact]
    public Task APPRT0013_a_private_nested_service_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            public static class Outer
            {
                [Service]
                private sealed class {|#0:Hidden|} { }
            }
            """,
            Diagnostic(DiagnosticIds.Inaccessible, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.Outer.Hidden", "the type or a type containing it is private or protected"));

    [Fact]
    public Task APPRT0014_a_service_with_two_equally_long_constructors_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [Service]
            public sealed class {|#0:Twice|}
            {
                public Twice(TimeProvider time) { }
                public Twice(ILoggerFactory loggers) { }
            }
            """,
            Diagnostic(DiagnosticIds.AmbiguousConstructors, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("Demo.Twice", "has 2 constructors with 1 parameters; keep one so the generator knows which to call"));

    [Fact]
    public Task APPRT0015_workers_capacity_and_max_attempts_below_one_are_errors() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs", {|#0:Capacity = 0|})]
            [WorkerPool("jobs", {|#1:Workers = 0|}, {|#2:MaxAttempts = -1|})]
            public static partial class DemoModule;

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.InvalidSetting, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Capacity", "queue 'jobs'", "at least 1", "0"),
            Diagnostic(DiagnosticIds.InvalidSetting, DiagnosticSeverity.Error).WithLocation(1).WithArguments("Workers", "worker pool 'jobs'", "at least 1", "0"),
            Diagnostic(DiagnosticIds.InvalidSetting, DiagnosticSeverity.Error).WithLocation(2).WithArguments("MaxAttempts", "worker pool 'jobs'", "at least 1", "-1"));

    [Fact]
    public Task APPRT0016_an_invalid_module_name_and_an_empty_source_name_are_errors() =>
        VerifyAsync(Usings + """
            [ApplicationModule({|#0:"demo module!"|})]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public static partial class DemoModule;

            [TaskSource("jobs", {|#1:Name = ""|})]
            public sealed class JobSource : ITaskSource<Job>
            {
                public Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }

            """ + JobHandler,
            Diagnostic(DiagnosticIds.InvalidName, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Module name", "demo module!", "use 1-100 characters of letters, digits, '-', '_', '.' or ':'"),
            Diagnostic(DiagnosticIds.InvalidName, DiagnosticSeverity.Error).WithLocation(1).WithArguments("Source name", "", "use 1-100 characters of letters, digits, '-', '_', '.' or ':'"));

    [Fact]
    public Task APPRT0017_a_config_member_of_an_unbindable_type_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [ConfigSection("Demo:Mail")]
            public sealed partial class MailSettings
            {
                public string Host { get; set; } = "";
                public Action? {|#0:Callback|} { get; set; }
            }
            """,
            Diagnostic(DiagnosticIds.UnbindableMember, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("Callback", "Demo.MailSettings", "System.Action", "interfaces, abstract classes, delegates and object are not supported"));

    private const string MailSettings = """
        [ConfigSection("Demo:Mail")]
        public sealed partial class MailSettings
        {
            public required string {|#0:Host|} { get; init; }
            public int Port { get; set; } = 25;
            public SmtpAuth? Auth { get; set; }
        }

        public sealed partial class SmtpAuth
        {
            public string User { get; set; } = "";
        }

        """;

    [Fact]
    public Task APPRT0018_a_required_key_missing_from_appsettings_is_a_warning() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + MailSettings,
            [("appsettings.json", """{ "Demo": { "Mail": { "Port": 587 } } }""")],
            Diagnostic(DiagnosticIds.MissingRequiredKey, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("Demo:Mail:Host", "appsettings.json"));

    [Fact]
    public Task APPRT0018_is_not_reported_when_another_appsettings_file_has_the_key() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + MailSettings.Replace("{|#0:Host|}", "Host", StringComparison.Ordinal),
            [("appsettings.json", """{ "Demo": { "Mail": { "Port": 587 } } }"""),
             ("appsettings.Development.json", """{ "Demo": { "Mail": { "Host": "localhost" } } }""")]);

    [Fact]
    public Task APPRT0019_a_key_that_matches_no_member_is_a_warning_with_a_suggestion() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + MailSettings.Replace("{|#0:Host|}", "Host", StringComparison.Ordinal),
            [("appsettings.json", """
                {
                  // comments and trailing commas are allowed, as in the JSON configuration provider
                  "Demo": {
                    "Mail": {
                      "Host": "smtp.example.com",
                      "Prot": 587,
                      "Auth": { "User": "bot", "Pasword": "x" },
                    }
                  }
                }
                """)],
            Diagnostic(DiagnosticIds.UnknownConfigKey, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 6, 7, 6, 13)
                .WithArguments("Demo:Mail:Prot", "appsettings.json", "Demo.MailSettings", "; did you mean 'Port'?"),
            Diagnostic(DiagnosticIds.UnknownConfigKey, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 7, 32, 7, 41)
                .WithArguments("Demo:Mail:Auth:Pasword", "appsettings.json", "Demo.SmtpAuth", ""));

    [Fact]
    public Task APPRT0019_is_not_reported_for_a_pools_worker_key_inside_a_section_without_such_a_member() =>
        VerifyAsync(Usings + Module.Replace("[WorkerPool(\"jobs\", Workers = 2)]", "[WorkerPool(\"jobs\", Workers = 2, WorkersConfigKey = \"Demo:Mail:Workers\")]", StringComparison.Ordinal)
                + JobSource + JobHandler + MailSettings.Replace("{|#0:Host|}", "Host", StringComparison.Ordinal),
            [("appsettings.json", """{ "Demo": { "Mail": { "Host": "smtp.example.com", "Workers": 3 } } }""")]);

    [Fact]
    public Task APPRT0020_a_durable_queue_whose_task_type_cannot_be_serialized_is_an_error() =>
        VerifyAsync(Usings + """
            public sealed class Blob
            {
                public string Name { get; init; } = "";
                public Action? {|#0:Callback|} { get; init; }
            }

            [ApplicationModule("demo")]
            [TaskQueue<Blob>("blobs", Backend = "Redis")]
            [WorkerPool("blobs")]
            public static partial class DemoModule;

            """ + Handler("BlobHandler", "blobs", "Blob") + """
            [TaskSource("blobs")]
            public sealed class BlobSource : ITaskSource<Blob>
            {
                public Task RunAsync(ITaskSourceContext<Blob> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }
            """,
            Diagnostic(DiagnosticIds.TaskTypeNotSerializable, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("blobs", "Redis", "Demo.Blob", "property Demo.Blob.Callback: interfaces, abstract classes, delegates and object are not supported"));

    [Fact]
    public Task APPRT0021_a_handler_with_mutable_fields_on_a_pool_of_several_workers_is_a_warning() =>
        VerifyAsync(Usings + Module + JobSource + """
            [TaskHandler("jobs")]
            public sealed class CountingHandler : ITaskHandler<Job>
            {
                private int {|#0:_count|};
                private readonly object _gate = new();

                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken)
                {
                    lock (_gate) { _count++; }
                    return default;
                }
            }
            """,
            Diagnostic(DiagnosticIds.MutableHandlerState, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("Demo.CountingHandler", "_count", "jobs", "2"));

    [Fact]
    public Task APPRT0021_can_be_suppressed_with_pragma() =>
        VerifyAsync(Usings + Module + JobSource + """
            [TaskHandler("jobs")]
            public sealed class CountingHandler : ITaskHandler<Job>
            {
            #pragma warning disable APPRT0021 // the counter is only diagnostic
                private int _count;
            #pragma warning restore APPRT0021

                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken)
                {
                    _count++;
                    return default;
                }
            }
            """);

    [Fact]
    public Task APPRT0022_a_second_module_in_one_assembly_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [ApplicationModule("zeta")]
            public static partial class {|#0:ZetaModule|};
            """,
            Diagnostic(DiagnosticIds.MultipleModules, DiagnosticSeverity.Error).WithLocation(0).WithArguments("zeta", "demo"));

    [Fact]
    public Task APPRT0023_a_handler_that_does_not_implement_the_handler_interface_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + """
            [TaskHandler("jobs")]
            public sealed class {|#0:NotAHandler|} { }
            """,
            Diagnostic(DiagnosticIds.MissingInterface, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.NotAHandler", "TaskHandler", "AppRuntime.ITaskHandler<T>"));

    [Fact]
    public Task APPRT0024_a_module_class_that_is_not_static_is_an_error() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public partial class {|#0:DemoModule|} { }

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.InvalidModuleClass, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.DemoModule"));

    [Fact]
    public Task APPRT0025_components_without_a_module_are_a_warning() =>
        VerifyAsync(Usings + """
            [Service]
            public sealed class {|#0:Lonely|} { }
            """,
            Diagnostic(DiagnosticIds.NoModule, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("Demo.Lonely", "Service"));

    [Fact]
    public Task APPRT0026_a_queue_declared_on_a_class_that_is_not_a_module_is_an_error() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [{|#0:TaskQueue<Other>("others")|}]
            public static class NotAModule { }
            """,
            Diagnostic(DiagnosticIds.DeclarationOutsideModule, DiagnosticSeverity.Error).WithLocation(0).WithArguments("TaskQueue", "Demo.NotAModule"));

    [Fact]
    public Task APPRT0027_two_worker_pools_for_one_queue_is_an_error() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            [WorkerPool({|#0:"jobs"|}, Workers = 3)]
            public static partial class DemoModule;

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.DuplicatePool, DiagnosticSeverity.Error).WithLocation(0).WithArguments("jobs"));

    [Fact]
    public Task APPRT0028_two_sources_with_one_name_is_an_error() =>
        VerifyAsync(Usings + Module + JobHandler + """
            [TaskSource("jobs", Name = "feed")]
            public sealed class FirstSource : ITaskSource<Job>
            {
                public Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }

            [TaskSource("jobs", {|#0:Name = "feed"|})]
            public sealed class SecondSource : ITaskSource<Job>
            {
                public Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }
            """,
            Diagnostic(DiagnosticIds.DuplicateSource, DiagnosticSeverity.Error).WithLocation(0).WithArguments("feed", "Demo.SecondSource", "Demo.FirstSource"));

    [Fact]
    public Task APPRT0029_an_appsettings_file_that_is_not_json_is_a_warning() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + MailSettings.Replace("{|#0:Host|}", "Host", StringComparison.Ordinal),
            [("appsettings.json", "{ \"Demo\": }")],
            Diagnostic(DiagnosticIds.InvalidSettingsFile, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 1, 11, 1, 12)
                .WithArguments("appsettings.json", "unexpected character '}' at line 1, column 11"));

    private const string JobHook = """
        [WebhookSource("jobs", Path = "/hooks/jobs")]
        public sealed class JobHook : IWebhookSource<Job>;

        """;

    private const string MappedHook = """
        public sealed record JobRequest(int Number);

        [WebhookSource("jobs", Name = "mapped", Path = "/hooks/mapped", Signature = WebhookSignature.GitHub)]
        public sealed class MappedHook(ILogger<MappedHook> logger) : IWebhookSource<JobRequest, Job>
        {
            public ValueTask<WebhookMapping<Job>> MapAsync(JobRequest request, WebhookRequest webhook, CancellationToken cancellationToken)
            {
                logger.LogInformation("webhook {Id}", webhook.EventId);
                return new(request.Number < 0 ? WebhookMapping<Job>.Reject("negative") : WebhookMapping<Job>.Accept(new Job(request.Number)));
            }
        }

        """;

    private const string TickHandler = """
        [TaskHandler("jobs")]
        public sealed class JobHandler : ITaskHandler<Job>
        {
            public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) => default;
        }

        """;

    private const string Secrets = """
        { "AppRuntime": { "Webhooks": { "Sources": { "job-hook": { "Secrets": [ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" ] }, "mapped": { "Secrets": [] } } } } }
        """;

    [Fact]
    public Task A_valid_module_with_webhook_sources_has_no_diagnostics_and_its_registration_compiles() =>
        VerifyAsync(Usings + Module + JobHandler + JobHook + MappedHook, [("appsettings.json", Secrets)]);

    [Fact]
    public Task APPRT0040_two_webhook_sources_on_one_path_is_an_error() =>
        VerifyAsync(Usings + Module + JobHandler + JobHook + """
            [WebhookSource("jobs", Name = "other", {|#0:Path = "/HOOKS/jobs"|})]
            public sealed class OtherHook : IWebhookSource<Job>;
            """,
            Diagnostic(DiagnosticIds.DuplicateWebhookPath, DiagnosticSeverity.Error).WithLocation(0).WithArguments("other", "/HOOKS/jobs", "job-hook"));

    [Theory]
    [InlineData("hooks/jobs", "it must start with '/'")]
    [InlineData("/hooks/{id}", "'{' is not allowed (use letters, digits and - . _ ~)")]
    [InlineData("/hooks//jobs", "it has an empty segment ('//')")]
    [InlineData("/hooks/../admin", "it has a '.' or '..' segment")]
    [InlineData("/hooks/jobs/", "it must not end with '/'")]
    [InlineData("/hooks/jobs?x=1", "'?' is not allowed (use letters, digits and - . _ ~)")]
    public Task APPRT0041_an_invalid_webhook_path_is_an_error(string path, string problem) =>
        VerifyAsync(Usings + Module + JobHandler + $$"""
            [WebhookSource("jobs", {|#0:Path = "{{path}}"|})]
            public sealed class JobHook : IWebhookSource<Job>;
            """,
            Diagnostic(DiagnosticIds.InvalidWebhookPath, DiagnosticSeverity.Error).WithLocation(0).WithArguments(path, "job-hook", problem));

    [Fact]
    public Task APPRT0042_a_webhook_request_type_that_needs_reflection_is_an_error() =>
        VerifyAsync(Usings + Module + JobHandler + """
            public sealed record Stamped(System.Half Day);

            [WebhookSource("jobs", Path = "/hooks/stamped")]
            public sealed class {|#0:StampedHook|} : IWebhookSource<Stamped, Job>
            {
                public ValueTask<WebhookMapping<Job>> MapAsync(Stamped request, WebhookRequest webhook, CancellationToken cancellationToken) =>
                    new(WebhookMapping<Job>.Accept(new Job((int)request.Day)));
            }
            """,
            Diagnostic(DiagnosticIds.WebhookTypeNotSerializable, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("request", "Demo.Stamped", "stamped-hook", "property Demo.Stamped.Day: System.Half has a System.Text.Json converter of its own, which the generated serializer does not reproduce"));

    [Fact]
    public Task APPRT0042_is_not_reported_when_a_JsonSerializerContext_lists_the_request_type() =>
        VerifyAsync(Usings + Module + JobHandler + """
            public sealed record Stamped(System.Half Day);

            // Written out here because this test does not run System.Text.Json's generator, which would complete a partial context.
            [System.Text.Json.Serialization.JsonSerializable(typeof(Stamped))]
            internal sealed class StampedJson() : System.Text.Json.Serialization.JsonSerializerContext(null)
            {
                public static StampedJson Default { get; } = new();
                protected override System.Text.Json.JsonSerializerOptions? GeneratedSerializerOptions => null;
                public override System.Text.Json.Serialization.Metadata.JsonTypeInfo? GetTypeInfo(System.Type type) => null;
            }

            [WebhookSource("jobs", Path = "/hooks/stamped")]
            public sealed class StampedHook : IWebhookSource<Stamped, Job>
            {
                public ValueTask<WebhookMapping<Job>> MapAsync(Stamped request, WebhookRequest webhook, CancellationToken cancellationToken) =>
                    new(WebhookMapping<Job>.Accept(new Job((int)request.Day)));
            }
            """);

    [Fact]
    public Task APPRT0042_a_webhook_task_type_that_needs_reflection_is_an_error() =>
        VerifyAsync(Usings + """
            public sealed record Stamped(System.Half Day);

            [ApplicationModule("demo")]
            [TaskQueue<Stamped>("stamps")]
            [WorkerPool("stamps")]
            public static partial class DemoModule;

            [TaskHandler("stamps")]
            public sealed class StampHandler : ITaskHandler<Stamped>
            {
                public ValueTask HandleAsync(Stamped task, TaskContext context, CancellationToken cancellationToken) => default;
            }

            [WebhookSource("stamps")]
            public sealed class {|#0:StampHook|} : IWebhookSource<Stamped>;
            """,
            Diagnostic(DiagnosticIds.WebhookTypeNotSerializable, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("request and task", "Demo.Stamped", "stamp-hook", "property Demo.Stamped.Day: System.Half has a System.Text.Json converter of its own, which the generated serializer does not reproduce"));

    [Fact]
    public Task APPRT0043_a_webhook_secret_missing_from_appsettings_is_a_warning() =>
        VerifyAsync(Usings + Module + JobHandler + """
            [{|#0:WebhookSource("jobs", Path = "/hooks/jobs")|}]
            public sealed class JobHook : IWebhookSource<Job>;

            [WebhookSource("jobs", Name = "stripe", Path = "/hooks/stripe", {|#1:Signature = WebhookSignature.Stripe|})]
            public sealed class StripeHook : IWebhookSource<Job>;

            [WebhookSource("jobs", Name = "open", Path = "/hooks/open", Signature = WebhookSignature.None)]
            public sealed class OpenHook : IWebhookSource<Job>;
            """,
            [("appsettings.json", """{ "AppRuntime": { "Webhooks": { "Urls": "http://0.0.0.0:8080" } } }""")],
            Diagnostic(DiagnosticIds.MissingWebhookSecret, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("job-hook", "StandardWebhooks", "appsettings.json"),
            Diagnostic(DiagnosticIds.MissingWebhookSecret, DiagnosticSeverity.Warning).WithLocation(1).WithArguments("stripe", "Stripe", "appsettings.json"));

    [Fact]
    public Task APPRT0043_is_not_reported_when_another_appsettings_file_declares_the_secrets_key() =>
        VerifyAsync(Usings + Module + JobHandler + JobHook,
            [("appsettings.json", """{ "Logging": {} }"""),
             ("appsettings.Development.json", """{ "AppRuntime": { "Webhooks": { "Sources": { "job-hook": { "Secrets": [] } } } } }""")]);

    [Theory]
    [InlineData("Signature = WebhookSignature.Hmac", "the Hmac scheme needs SignatureHeader")]
    [InlineData("SignatureHeader = \"X-Sig\"", "SignatureHeader and SignaturePrefix apply to the Hmac scheme only, not to StandardWebhooks")]
    [InlineData("Signature = WebhookSignature.Hmac, SignatureHeader = \"X Sig\"", "SignatureHeader 'X Sig' is not a header name")]
    [InlineData("EventIdHeader = \"X-Id\", EventIdJsonPath = \"id\"", "set EventIdHeader or EventIdJsonPath, not both")]
    [InlineData("EventIdJsonPath = \"data..id\"", "EventIdJsonPath 'data..id' must be member names separated by '.' (such as 'id' or 'data.id')")]
    [InlineData("Signature = (WebhookSignature)9", "Signature 9 is not a WebhookSignature value")]
    public Task APPRT0044_webhook_signature_settings_that_do_not_fit_together_are_an_error(string settings, string problem) =>
        VerifyAsync(Usings + Module + JobHandler + $$"""
            [{|#0:WebhookSource("jobs", {{settings}})|}]
            public sealed class JobHook : IWebhookSource<Job>;
            """,
            Diagnostic(DiagnosticIds.InvalidWebhookSettings, DiagnosticSeverity.Error).WithLocation(0).WithArguments("job-hook", problem));

    [Fact]
    public Task A_webhook_source_name_with_a_colon_is_an_invalid_name() =>
        VerifyAsync(Usings + Module + JobHandler + """
            [WebhookSource("jobs", {|#0:Name = "a:b"|})]
            public sealed class JobHook : IWebhookSource<Job>;
            """,
            Diagnostic(DiagnosticIds.InvalidName, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("Webhook source name", "a:b", "use 1-100 characters of letters, digits, '-', '_' or '.' (the name is a configuration key segment)"));

    [Fact]
    public Task A_webhook_source_without_the_interface_is_an_error() =>
        VerifyAsync(Usings + Module + JobHandler + JobSource + """
            [WebhookSource("jobs")]
            public sealed class {|#0:NotAHook|};
            """,
            Diagnostic(DiagnosticIds.MissingInterface, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("Demo.NotAHook", "WebhookSource", "AppRuntime.IWebhookSource<TTask> or AppRuntime.IWebhookSource<TRequest, TTask>"));
    private static string Scheduled(string arguments) => $$"""
        [ScheduledSource("jobs", {{arguments}})]
        public sealed class Nightly : IScheduledSource<Job>
        {
            public Job Create(ScheduledOccurrence occurrence) => new(occurrence.Time.Day);
        }

        """;

    [Fact]
    public Task A_valid_scheduled_source_has_no_diagnostics() =>
        VerifyAsync(Usings + Module + TickHandler + Scheduled("""Cron = "0 7 * * MON-FRI", TimeZone = "Europe/Berlin", Missed = MissedPolicy.RunOnce, Overlap = OverlapPolicy.Skip"""));

    [Fact]
    public Task APPRT0050_an_invalid_cron_expression_is_an_error_on_the_argument() =>
        VerifyAsync(Usings + Module + TickHandler + Scheduled("""{|#0:Cron = "61 * * * *"|}"""),
            Diagnostic(DiagnosticIds.InvalidCron, DiagnosticSeverity.Error).WithLocation(0).WithArguments("61 * * * *", "nightly",
                "The given cron expression has an invalid format. Minutes: Value must be a number between 0 and 59 (all inclusive)."));

    [Fact]
    public Task APPRT0050_seven_fields_are_an_error() =>
        VerifyAsync(Usings + Module + TickHandler + Scheduled("""{|#0:Cron = "0 0 7 * * MON 2027"|}"""),
            Diagnostic(DiagnosticIds.InvalidCron, DiagnosticSeverity.Error).WithLocation(0).WithArguments("0 0 7 * * MON 2027", "nightly",
                "The given cron expression has an invalid format. Unexpected character 'M'."));

    [Fact]
    public Task APPRT0051_an_unknown_time_zone_is_an_error_on_the_argument() =>
        VerifyAsync(Usings + Module + TickHandler + Scheduled("""Cron = "0 7 * * *", {|#0:TimeZone = "Europe/Berln"|}"""),
            Diagnostic(DiagnosticIds.UnknownTimeZone, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Europe/Berln", "nightly", "; did you mean 'Europe/Berlin'?"));

    [Fact]
    public Task APPRT0051_a_windows_time_zone_id_is_an_error_that_names_the_IANA_id() =>
        VerifyAsync(Usings + Module + TickHandler + Scheduled("""Cron = "0 7 * * *", {|#0:TimeZone = "W. Europe Standard Time"|}"""),
            Diagnostic(DiagnosticIds.UnknownTimeZone, DiagnosticSeverity.Error).WithLocation(0).WithArguments("W. Europe Standard Time", "nightly",
                "; 'W. Europe Standard Time' is a Windows id: use 'Europe/Berlin'"));

    [Fact]
    public Task APPRT0052_a_schedule_that_can_never_fire_is_a_warning() =>
        VerifyAsync(Usings + Module + TickHandler + Scheduled("""{|#0:Cron = "0 0 30 2 *"|}"""),
            Diagnostic(DiagnosticIds.CronNeverFires, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("0 0 30 2 *", "nightly"));

    [Fact]
    public Task APPRT0053_a_scheduled_source_without_a_cron_is_an_error() =>
        VerifyAsync(Usings + Module + TickHandler + """
            [{|#0:ScheduledSource("jobs", TimeZone = "UTC")|}]
            public sealed class Nightly : IScheduledSource<Job>
            {
                public Job Create(ScheduledOccurrence occurrence) => new(1);
            }
            """,
            Diagnostic(DiagnosticIds.MissingCron, DiagnosticSeverity.Error).WithLocation(0).WithArguments("nightly"));

    [Fact]
    public Task APPRT0023_a_scheduled_source_that_does_not_implement_IScheduledSource_is_an_error() =>
        VerifyAsync(Usings + Module + TickHandler + """
            [ScheduledSource("jobs", Cron = "@daily")]
            public sealed class {|#0:NotScheduled|};
            """,
            Diagnostic(DiagnosticIds.MissingInterface, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.NotScheduled", "ScheduledSource", "AppRuntime.IScheduledSource<T>"));

    // Issue #20: the mistakes a new user made that nothing reported.

    [Fact]
    public Task APPRT0030_a_queue_with_a_handler_and_no_worker_pool_gets_a_default_pool_and_information() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>({|#0:"jobs"|})]
            public static partial class DemoModule;

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.DefaultWorkerPool, DiagnosticSeverity.Info).WithLocation(0).WithArguments("jobs"));

    private const string Program = """

        public static class Program
        {
            public static void Main()
            {
            }

            public static IAppRuntimeBuilder Compose(IAppRuntimeBuilder builder) => builder.AddDemoModule();
        }
        """;

    [Fact]
    public Task APPRT0031_an_application_that_never_calls_its_modules_Add_method_is_warned() =>
        VerifyExecutableAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public static partial class {|#0:DemoModule|};

            public static class Program
            {
                public static void Main()
                {
                }

                public static IAppRuntimeBuilder Compose(IAppRuntimeBuilder builder) => builder.AddConfigProvider(null!);
            }

            """ + JobSource + JobHandler,
            Diagnostic(DiagnosticIds.ModuleNeverAdded, DiagnosticSeverity.Warning).WithLocation(0).WithArguments("demo", "AddDemoModule"));

    [Fact]
    public Task APPRT0031_is_not_reported_when_the_application_calls_the_Add_method() =>
        VerifyExecutableAsync(Usings + Module + JobSource + JobHandler + Program);

    [Fact]
    public Task APPRT0032_two_services_registered_as_one_interface_is_an_error_naming_both() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            public interface IStore { }

            [Service(As = typeof(IStore))]
            public sealed class FileStore : IStore { }

            [Service(As = typeof(IStore))]
            public sealed class {|#0:SqlStore|} : IStore { }
            """,
            Diagnostic(DiagnosticIds.DuplicateService, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.IStore", "Demo.FileStore", "Demo.SqlStore"));

    [Fact]
    public Task APPRT0032_is_not_reported_for_services_the_runtime_resolves_all_of() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + """
            [Service(As = typeof(IDrainObserver))]
            public sealed class Summary : IDrainObserver { public ValueTask OnDrainedAsync(CancellationToken cancellationToken) => default; }

            [Service(As = typeof(IDrainObserver))]
            public sealed class Report : IDrainObserver { public ValueTask OnDrainedAsync(CancellationToken cancellationToken) => default; }
            """);

    private const string ShopSettings = """
        public enum Speed { Slow, Fast }

        [ConfigSection("Demo:Shop")]
        public sealed partial class ShopSettings
        {
            public int Port { get; set; } = 80;
            [System.ComponentModel.DataAnnotations.Range(1, 100)]
            public int Workers { get; set; } = 4;
            [TimeRange("00:00:01", "01:00:00")]
            public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);
            public Speed Speed { get; set; }
            public bool Enabled { get; set; }
            [Secret]
            public int Pin { get; set; }
            public string Region { get; } = "eu";
        }

        """;

    [Fact]
    public Task APPRT0033_a_value_of_the_wrong_type_in_appsettings_is_an_error_at_the_value() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + ShopSettings,
            [("appsettings.json", """
                {
                  "Demo": {
                    "Shop": {
                      "Port": "fast",
                      "Workers": 8,
                      "Timeout": "soon",
                      "Speed": "Medium",
                      "Enabled": 1,
                      "Pin": "secret-value",
                      "Other": { "Port": 1 }
                    }
                  }
                }
                """)],
            Diagnostic(DiagnosticIds.InvalidConfigValue, DiagnosticSeverity.Error).WithSpan("appsettings.json", 4, 15, 4, 21)
                .WithArguments("Demo:Shop:Port", "appsettings.json", "\"fast\"", "Int32", "Demo.ShopSettings.Port"),
            Diagnostic(DiagnosticIds.InvalidConfigValue, DiagnosticSeverity.Error).WithSpan("appsettings.json", 6, 18, 6, 24)
                .WithArguments("Demo:Shop:Timeout", "appsettings.json", "\"soon\"", "TimeSpan (e.g. \"00:00:30\")", "Demo.ShopSettings.Timeout"),
            Diagnostic(DiagnosticIds.InvalidConfigValue, DiagnosticSeverity.Error).WithSpan("appsettings.json", 7, 16, 7, 24)
                .WithArguments("Demo:Shop:Speed", "appsettings.json", "\"Medium\"", "name of Demo.Speed", "Demo.ShopSettings.Speed"),
            Diagnostic(DiagnosticIds.InvalidConfigValue, DiagnosticSeverity.Error).WithSpan("appsettings.json", 8, 18, 8, 19)
                .WithArguments("Demo:Shop:Enabled", "appsettings.json", "1", "Boolean (true or false)", "Demo.ShopSettings.Enabled"),
            Diagnostic(DiagnosticIds.InvalidConfigValue, DiagnosticSeverity.Error).WithSpan("appsettings.json", 9, 14, 9, 28)
                .WithArguments("Demo:Shop:Pin", "appsettings.json", "a value", "Int32", "Demo.ShopSettings.Pin"),
            Diagnostic(DiagnosticIds.UnknownConfigKey, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 10, 7, 10, 14)
                .WithArguments("Demo:Shop:Other", "appsettings.json", "Demo.ShopSettings", ""));

    [Fact]
    public Task APPRT0034_a_value_outside_its_range_in_appsettings_is_an_error() =>
        VerifyAsync(Usings + Module.Replace("[WorkerPool(\"jobs\", Workers = 2)]", "[WorkerPool(\"jobs\", Workers = 2, WorkersConfigKey = \"Demo:Workers\")]", StringComparison.Ordinal)
                + JobSource + JobHandler + ShopSettings,
            [("appsettings.json", """
                {
                  "Demo": {
                    "Workers": 0,
                    "Shop": { "Workers": 500, "Timeout": "02:00:00" }
                  },
                  "AppRuntime": { "Pools": { "jobs": { "Workers": 2000 } } }
                }
                """)],
            Diagnostic(DiagnosticIds.ConfigValueOutOfRange, DiagnosticSeverity.Error).WithSpan("appsettings.json", 3, 16, 3, 17)
                .WithArguments("Demo:Workers", "appsettings.json", "0", "a pool's WorkersConfigKey", "must be from 1 to 1024"),
            Diagnostic(DiagnosticIds.ConfigValueOutOfRange, DiagnosticSeverity.Error).WithSpan("appsettings.json", 4, 26, 4, 29)
                .WithArguments("Demo:Shop:Workers", "appsettings.json", "500", "Demo.ShopSettings.Workers", "must be between 1 and 100"),
            Diagnostic(DiagnosticIds.ConfigValueOutOfRange, DiagnosticSeverity.Error).WithSpan("appsettings.json", 4, 42, 4, 52)
                .WithArguments("Demo:Shop:Timeout", "appsettings.json", "\"02:00:00\"", "Demo.ShopSettings.Timeout", "must be between 00:00:01 and 01:00:00"),
            Diagnostic(DiagnosticIds.ConfigValueOutOfRange, DiagnosticSeverity.Error).WithSpan("appsettings.json", 6, 51, 6, 55)
                .WithArguments("AppRuntime:Pools:jobs:Workers", "appsettings.json", "2000", "the workers of pool 'jobs'", "must be from 1 to 1024"));

    private const string Backends = """
        public sealed class FakeRedisBackend : ITaskQueueBackend
        {
            public const string BackendName = "Redis";
            public string Name => BackendName;
            public bool IsDurable => true;
            public ITaskQueue<T> Create<T>(QueueDefinition definition, TaskSerializer<T>? serializer) => throw new NotSupportedException();
        }

        """;

    [Fact]
    public Task APPRT0035_an_unknown_queue_backend_in_appsettings_or_a_declaration_is_an_error() =>
        VerifyAsync(Usings + Backends + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            [{|#0:TaskQueue<Other>("others", Backend = "Rediss")|}]
            [WorkerPool("others")]
            public static partial class DemoModule;

            """ + JobSource + JobHandler + Handler("OtherHandler", "others", "Other") + """
            [TaskSource("others")]
            public sealed class OtherSource : ITaskSource<Other>
            {
                public Task RunAsync(ITaskSourceContext<Other> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }
            """,
            [("appsettings.json", """{ "AppRuntime": { "DefaultBackend": "Kafka", "Queues": { "jobs": { "Backend": "redis" } } } }""")],
            Diagnostic(DiagnosticIds.UnknownBackend, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("Queue 'others'", "Rediss", "; did you mean 'Redis'?", "Redis"),
            Diagnostic(DiagnosticIds.UnknownBackend, DiagnosticSeverity.Error).WithSpan("appsettings.json", 1, 37, 1, 44)
                .WithArguments("Key 'AppRuntime:DefaultBackend' in appsettings.json", "Kafka", "", "Redis"));

    [Fact]
    public Task APPRT0036_a_setting_for_a_queue_that_is_not_declared_gets_a_suggestion_even_for_a_case_only_typo() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler,
            [("appsettings.json", """{ "AppRuntime": { "Queues": { "Jobs": { "Backend": "InMemory" } }, "Pools": { "jbos": { "Workers": 2 }, "jobs": { "Workers": 3 } } } }""")],
            Diagnostic(DiagnosticIds.UndeclaredQueueInSettings, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 1, 31, 1, 37)
                .WithArguments("AppRuntime:Queues:Jobs", "appsettings.json", "queue", "Jobs", "demo", "; did you mean 'jobs'?"),
            Diagnostic(DiagnosticIds.UndeclaredQueueInSettings, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 1, 79, 1, 85)
                .WithArguments("AppRuntime:Pools:jbos", "appsettings.json", "worker pool", "jbos", "demo", "; did you mean 'jobs'?"));

    [Fact]
    public Task APPRT0037_a_key_for_a_member_without_a_setter_says_so() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + ShopSettings,
            [("appsettings.json", """{ "Demo": { "Shop": { "Region": "us" } } }""")],
            Diagnostic(DiagnosticIds.ReadOnlyConfigMember, DiagnosticSeverity.Warning).WithSpan("appsettings.json", 1, 23, 1, 31)
                .WithArguments("Demo:Shop:Region", "appsettings.json", "Region", "Demo.ShopSettings"));

    /// <summary>The queue the misspelt names were meant for gets no "no producer" or "default pool" on top (follow-on noise).</summary>
    [Fact]
    public Task APPRT0001_a_queue_name_that_differs_only_in_case_gets_a_suggestion() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool({|#0:"Jobs"|})]
            public static partial class DemoModule;

            [TaskSource({|#1:"JOBS"|})]
            public sealed class JobSource : ITaskSource<Job>
            {
                public Task RunAsync(ITaskSourceContext<Job> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }

            """ + JobHandler,
            Diagnostic(DiagnosticIds.UndeclaredQueue, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Worker pool", "Jobs", "Jobs", "demo", "; did you mean 'jobs'?"),
            Diagnostic(DiagnosticIds.UndeclaredQueue, DiagnosticSeverity.Error).WithLocation(1).WithArguments("Source", "Demo.JobSource", "JOBS", "demo", "; did you mean 'jobs'?"));

    [Fact]
    public Task APPRT0007_a_dependency_on_the_class_of_a_service_registered_as_an_interface_says_what_to_depend_on() =>
        VerifyAsync(Usings + Module + JobSource + """
            public interface IStore { }

            [Service(As = typeof(IStore))]
            public sealed class SqlStore : IStore { }

            [TaskHandler("jobs")]
            public sealed class JobHandler(SqlStore {|#0:store|}) : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) { _ = store; return default; }
            }
            """,
            Diagnostic(DiagnosticIds.UnresolvedDependency, DiagnosticSeverity.Error).WithLocation(0).WithArguments("store", "Demo.JobHandler", "Demo.SqlStore",
                "; Demo.SqlStore is registered as Demo.IStore ([Service(As = typeof(Demo.IStore))]): depend on Demo.IStore instead"));

    [Fact]
    public Task APPRT0020_names_the_constructor_parameter_at_fault_and_points_at_it() =>
        VerifyAsync(Usings + """
            public sealed class Blob({|#0:string title|})
            {
                public string Name { get; } = title;
            }

            [ApplicationModule("demo")]
            [TaskQueue<Blob>("blobs", Backend = "Redis")]
            [WorkerPool("blobs")]
            public static partial class DemoModule;

            """ + Handler("BlobHandler", "blobs", "Blob") + """
            [TaskSource("blobs")]
            public sealed class BlobSource : ITaskSource<Blob>
            {
                public Task RunAsync(ITaskSourceContext<Blob> context, CancellationToken cancellationToken) => Task.CompletedTask;
            }
            """,
            Diagnostic(DiagnosticIds.TaskTypeNotSerializable, DiagnosticSeverity.Error).WithLocation(0)
                .WithArguments("blobs", "Redis", "Demo.Blob", "constructor parameter 'title' of Demo.Blob matches no public property"));

    [Fact]
    public Task An_invalid_module_still_gets_its_Add_method_so_its_callers_compile() =>
        VerifyAsync(Usings + """
            [ApplicationModule({|#0:"demo module!"|})]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public static partial class DemoModule;

            """ + JobSource + JobHandler + Program,
            Diagnostic(DiagnosticIds.InvalidName, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Module name", "demo module!", "use 1-100 characters of letters, digits, '-', '_', '.' or ':'"));

    [Fact]
    public Task A_module_class_that_is_not_partial_still_gets_its_Add_method() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>("jobs")]
            [WorkerPool("jobs")]
            public static class {|#0:DemoModule|} { }

            """ + JobSource + JobHandler + Program,
            Diagnostic(DiagnosticIds.MustBePartial, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Demo.DemoModule", "the AddDemoModule extension method"));

    [Fact]
    public Task A_service_with_a_missing_dependency_does_not_also_break_the_call_to_the_Add_method() =>
        VerifyAsync(Usings + Module + JobSource + JobHandler + Program + """
            public interface IClock { }

            [Service]
            public sealed class Scheduler(IClock {|#0:clock|}) { public IClock Clock { get; } = clock; }
            """,
            Diagnostic(DiagnosticIds.UnresolvedDependency, DiagnosticSeverity.Error).WithLocation(0).WithArguments("clock", "Demo.Scheduler", "Demo.IClock", ""));

    [Fact]
    public Task APPRT0022_the_second_module_is_the_one_the_application_does_not_call_yet() =>
        VerifyAsync(Usings + """
            [ApplicationModule("audit")]
            [TaskQueue<Other>("audit")]
            [TaskQueue<Other>("audit-archive")]
            public static partial class {|#0:AuditModule|};

            """ + Module + JobSource + JobHandler + Program,
            Diagnostic(DiagnosticIds.MultipleModules, DiagnosticSeverity.Error).WithLocation(0).WithArguments("audit", "demo"));

    [Fact]
    public Task A_misspelt_handler_queue_does_not_also_make_the_intended_queue_handlerless() =>
        VerifyAsync(Usings + Module + JobSource + """
            [TaskHandler({|#0:"Jobs"|})]
            public sealed class JobHandler : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) => default;
            }
            """,
            Diagnostic(DiagnosticIds.UndeclaredQueue, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Handler", "Demo.JobHandler", "Jobs", "demo", "; did you mean 'jobs'?"));

    [Fact]
    public Task An_invalid_queue_name_is_reported_once_not_again_for_the_pool_and_handler_that_use_it() =>
        VerifyAsync(Usings + """
            [ApplicationModule("demo")]
            [TaskQueue<Job>({|#0:"my jobs"|})]
            [WorkerPool("my jobs")]
            public static partial class DemoModule;

            [TaskHandler("my jobs")]
            public sealed class JobHandler : ITaskHandler<Job>
            {
                public ValueTask HandleAsync(Job task, TaskContext context, CancellationToken cancellationToken) => default;
            }
            """,
            Diagnostic(DiagnosticIds.InvalidName, DiagnosticSeverity.Error).WithLocation(0).WithArguments("Queue name", "my jobs", "use 1-100 characters of letters, digits, '-', '_', '.' or ':'"));
}
