using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Provisioner.Pulumi;

// pulumi-resource-provisioner [engine-address]: serves Pulumi's ResourceProvider on a free loopback port and
// prints that port as the first line on stdout, as the Pulumi engine expects. Everything else goes to stderr.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = 64 * 1024 * 1024);
builder.Services.AddSingleton<ProviderSession>();

var app = builder.Build();
app.MapGrpcService<ResourceProviderService>();
await app.StartAsync().ConfigureAwait(false);

var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
await Console.Out.WriteLineAsync(new Uri(address).Port.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
await Console.Out.FlushAsync().ConfigureAwait(false);

await app.WaitForShutdownAsync().ConfigureAwait(false);
