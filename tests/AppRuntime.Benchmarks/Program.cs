using AppRuntime.Benchmarks.Micro;
using AppRuntime.Benchmarks.SideBySide;

// dotnet run -c Release --project tests/AppRuntime.Benchmarks -- micro [BenchmarkDotNet args, e.g. --filter *]
// dotnet run -c Release --project tests/AppRuntime.Benchmarks -- sidebyside [--tasks N] [--redis-tasks N] [--redis host:port] [--row-timeout S] [--rows abcdef] [--tracing both|off|on] [--publishers N]
switch (args.FirstOrDefault())
{
    case "micro":
        return MicroCommand.Run(args[1..]);
    case "sidebyside":
        var code = await SideBySideCommand.RunAsync(args[1..]);
        // Peers may leave foreground threads behind after a row that timed out; the harness must end anyway.
        Console.Out.Flush();
        Environment.Exit(code);
        return code;
    default:
        Console.Error.WriteLine("usage: AppRuntime.Benchmarks micro [--filter *] | sidebyside [--tasks N] [--redis-tasks N] [--redis host:port] [--row-timeout S] [--rows abcdef] [--tracing both|off|on] [--publishers N] [--publish-batch N] [--prefetch N] [--capacity N] [--out FILE]");
        return 2;
}
