using MailGateway.Core.Hosting;
using MailGateway.Inbound;
using MailGateway.Listener;
using Microsoft.Extensions.Hosting;

if (args is ["hash-password"])
{
    // Reads a password from stdin and prints the hash for MailGateway:Inbound:Users:N:PasswordHash.
    Console.WriteLine(PasswordHash.Create(Console.ReadLine() ?? ""));
    return 0;
}

var builder = Host.CreateApplicationBuilder(args);
builder.AddInboundHost();
var host = builder.Build();
if (!StartupValidation.TryValidate(host.Services, Console.Error))
{
    return StartupValidation.InvalidConfigurationExitCode;
}

await host.RunAsync();
return 0;
