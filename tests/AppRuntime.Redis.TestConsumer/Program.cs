// Consumer process for the Redis integration tests.
//   dotnet AppRuntime.Redis.TestConsumer.dll --redis 127.0.0.1:6390 --prefix P --queue Q --name N
//       [--concurrency 4] [--delay-ms 0] [--visibility-ms 5000] [--prefetch 0] [--publish N]
// Consumes Q until standard input closes (then releases nothing: in-flight tasks finish, loops stop) or it is killed.
// For each task: HINCRBY <prefix>:handled <id> 1 and HINCRBY <prefix>:by-consumer <name> 1, wait delay-ms, then ack.
// --publish N: while consuming, also publishes task-0 .. task-(N-1) itself with PublishManyAsync, 16 every 40 ms (slower than the
// loops consume, so the ready list stays empty and each batch is leased to this process's own consumers and buffer); a batch
// that fails with a Redis outage is published again until Redis confirms it.
using System.Globalization;
using AppRuntime;
using AppRuntime.Redis.TestConsumer;
using StackExchange.Redis;

var options = ParseArgs(args);
var endpoint = options.GetValueOrDefault("redis", "127.0.0.1:6390");
var prefix = options["prefix"];
var queueName = options["queue"];
var name = options["name"];
var concurrency = int.Parse(options.GetValueOrDefault("concurrency", "4"), CultureInfo.InvariantCulture);
var delayMs = int.Parse(options.GetValueOrDefault("delay-ms", "0"), CultureInfo.InvariantCulture);
var visibilityMs = int.Parse(options.GetValueOrDefault("visibility-ms", "5000"), CultureInfo.InvariantCulture);
var prefetch = int.Parse(options.GetValueOrDefault("prefetch", "0"), CultureInfo.InvariantCulture);
var publish = int.Parse(options.GetValueOrDefault("publish", "0"), CultureInfo.InvariantCulture);

var config = ConfigurationOptions.Parse(endpoint);
config.AbortOnConnectFail = false;
using var connection = await ConnectionMultiplexer.ConnectAsync(config);
var backend = new RedisQueueBackend(connection, new RedisQueueOptions { KeyPrefix = prefix, Prefetch = prefetch });
var queue = backend.Create(
    new QueueDefinition(queueName, WorkItems.TaskType) { VisibilityTimeout = TimeSpan.FromMilliseconds(visibilityMs), Capacity = 1_000_000, MaxAttempts = 100 },
    WorkItems.Serializer);
var db = connection.GetDatabase();
var handledKey = WorkItems.HandledKey(prefix);
var byConsumerKey = WorkItems.ByConsumerKey(prefix);

using var stop = new CancellationTokenSource();
var stdinWatcher = Task.Run(async () =>
{
    await Console.In.ReadToEndAsync();
    await stop.CancelAsync();
});

async Task LoopAsync()
{
    while (!stop.IsCancellationRequested)
    {
        TaskLease<WorkItem> lease;
        try
        {
            lease = await queue.ConsumeAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            var id = lease.Envelope.Id;
            await Task.WhenAll(db.HashIncrementAsync(handledKey, id), db.HashIncrementAsync(byConsumerKey, name));
            // The "work" happens after the record and before the ack, so a kill most likely lands in that window.
            if (delayMs > 0)
                await Task.Delay(delayMs);
            await queue.AckAsync(lease);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Redis went away or timed out mid-task (restart test, an overloaded machine): the lease expires and the task
            // comes back. The loop goes on.
            Console.Error.WriteLine($"{name}: {ex.GetType().Name}: {ex.Message}");
        }
    }
}

var loops = Enumerable.Range(0, concurrency).Select(_ => Task.Run(LoopAsync)).ToArray();
await db.SetAddAsync(WorkItems.ReadyKey(prefix), name);
Console.WriteLine($"{name}: consuming {queueName} with {concurrency} loops");
for (var start = 0; start < publish && !stop.IsCancellationRequested; start += 16)
{
    var batch = Enumerable.Range(start, Math.Min(16, publish - start))
        .Select(n => new TaskEnvelope<WorkItem>($"task-{n}", WorkItems.TaskType, new WorkItem(n, $"item {n}"), DateTimeOffset.UtcNow)).ToList();
    // A batch Redis did not confirm (an outage: the restart test) is published again, same ids, until it is: what the script
    // did before the connection dropped counts once (an id still in the queue is a duplicate), what it did not is done now.
    while (true)
    {
        try
        {
            await queue.PublishManyAsync(batch);
            break;
        }
        catch (Exception ex) when (ex is RedisException or QueueBackendUnavailableException)
        {
            Console.Error.WriteLine($"{name}: publish of task-{start}..: {ex.GetType().Name}: {ex.Message}");
            await Task.Delay(50);
        }
    }
    await Task.Delay(40);
}
if (publish > 0)
    Console.WriteLine($"{name}: published {publish}");
await Task.WhenAll(loops);
await stdinWatcher;
return 0;

static Dictionary<string, string> ParseArgs(string[] args)
{
    var result = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
        result[args[i].TrimStart('-')] = args[i + 1];
    return result;
}
