using MailGateway.Listener;
using Microsoft.Extensions.Hosting;

if (args is ["hash-password"])
{
    // Reads a password from stdin and prints the hash for MailGateway:Inbound:Users:N:PasswordHash.
    Console.WriteLine(PasswordHash.Create(Console.ReadLine() ?? ""));
    return;
}

var builder = Host.CreateApplicationBuilder(args);
builder.AddInboundListener(25, 587);
await builder.Build().RunAsync();
