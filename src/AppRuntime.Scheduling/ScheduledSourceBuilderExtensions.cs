using AppRuntime.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppRuntime;

/// <summary>Registers scheduled sources (generated module code calls it for every <see cref="ScheduledSourceAttribute"/>).</summary>
public static class ScheduledSourceBuilderExtensions
{
    /// <summary>The configuration section of every source, <c>AppRuntime:Sources</c>; a scheduled source reads <c>&lt;name&gt;:Cron</c> and the rest below it.</summary>
    public const string SourcesSectionPath = "AppRuntime:Sources";

    /// <summary>
    /// Declares a scheduled source: the source <c>definition.Name</c>, publishing one task per occurrence into <c>definition.Queue</c>,
    /// each created by the <see cref="IScheduledSource{T}"/> that <paramref name="factory"/> returns (called once, from the root
    /// provider). Also declares its settings section <c>AppRuntime:Sources:&lt;name&gt;</c> (Cron, TimeZone, Missed, Overlap,
    /// MisfireThreshold), checked at start and on every reload with every other section.
    /// </summary>
    /// <exception cref="ArgumentException">The name, the queue, the expression or the threshold is invalid.</exception>
    public static IAppRuntimeBuilder AddScheduledSource<T>(this IAppRuntimeBuilder builder, ScheduledSourceDefinition definition,
        Func<IServiceProvider, IScheduledSource<T>> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(factory);
        definition.Validate();
        var path = SourcesSectionPath + ":" + definition.Name;
        // Bind returns null only after reporting the problem to errors; the configuration manager then discards the value.
        builder.AddConfigSection(new ConfigSectionDefinition<ScheduleSettings>(path, (section, errors) => ScheduleSettings.Bind(definition, section, errors)!));
        builder.AddSource<T>(new SourceDefinition(definition.Name, definition.Queue), sp =>
        {
            var settings = sp.GetServices<IConfigSection<ScheduleSettings>>().First(s => string.Equals(s.Path, path, StringComparison.OrdinalIgnoreCase));
            var loggers = sp.GetService<ILoggerFactory>();
            return new ScheduledTaskSource<T>(definition.Name, factory(sp), settings,
                loggers?.CreateLogger("AppRuntime.Scheduling") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        });
        return builder;
    }
}
