// Exercises the runtime once after the AOT compiler has processed every rooted AppRuntime assembly:
// a queue, a pool and a handler composed through the registration API, three tasks; a scheduled source (Cronos, a time zone)
// firing every second until two of its tasks are handled; a clean stop.
using AppRuntime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
var handled = 0;
var runtime = builder.AddAppRuntime(o => o.DrainTimeout = TimeSpan.FromSeconds(5));
runtime.AddQueue(new QueueDefinition("aot", "AotTask"), new JsonTaskSerializer<AotTask>(AotJson.Default.AotTask));
runtime.AddWorkerPool(new WorkerPoolDefinition("aot") { Workers = 2 });
runtime.AddHandler<AotTask>("aot", _ => new AotHandler(() => Interlocked.Increment(ref handled)));
var ticks = 0;
runtime.AddQueue(new QueueDefinition("aot-ticks", "AotTask"), new JsonTaskSerializer<AotTask>(AotJson.Default.AotTask));
runtime.AddWorkerPool(new WorkerPoolDefinition("aot-ticks"));
runtime.AddHandler<AotTask>("aot-ticks", _ => new AotHandler(() => Interlocked.Increment(ref ticks)));
runtime.AddScheduledSource(new ScheduledSourceDefinition("aot-ticker", "aot-ticks", "* * * * * *") { TimeZone = "Europe/Berlin" }, _ => new AotTicker());
using var host = builder.Build();
await host.StartAsync();
var publisher = host.Services.GetRequiredService<ITaskPublisher<AotTask>>();
for (var i = 0; i < 3; i++)
    await publisher.PublishAsync(new AotTask(i));
var deadline = DateTime.UtcNow.AddSeconds(10);
while ((Volatile.Read(ref handled) < 3 || Volatile.Read(ref ticks) < 2) && DateTime.UtcNow < deadline)
    await Task.Delay(10);
await host.StopAsync();
Console.WriteLine($"aot-compatibility: handled {handled} of 3, scheduled {Math.Min(ticks, 2)} of 2");
return handled == 3 && ticks >= 2 ? 0 : 1;

internal sealed record AotTask(int Number);

internal sealed class AotHandler(Action done) : ITaskHandler<AotTask>
{
    public ValueTask HandleAsync(AotTask task, TaskContext context, CancellationToken cancellationToken)
    {
        done();
        return ValueTask.CompletedTask;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(AotTask))]
internal sealed partial class AotJson : System.Text.Json.Serialization.JsonSerializerContext;

internal sealed class AotTicker : IScheduledSource<AotTask>
{
    public AotTask Create(ScheduledOccurrence occurrence) => new(occurrence.LocalTime.Second);
}
