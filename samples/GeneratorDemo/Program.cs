using AppRuntime;
using GeneratorDemo;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddAppRuntime().AddDemoModule();
await builder.Build().RunAsync();
