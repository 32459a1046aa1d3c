using MailGateway.Inbound;
using MailGateway.Listener;
using MailGateway.ServiceDefaults;

if (args is ["hash-password"])
{
    // Reads a password from stdin and prints the hash for MailGateway:Inbound:Users:N:PasswordHash.
    Console.WriteLine(PasswordHash.Create(Console.ReadLine() ?? ""));
    return 0;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddInboundHost();
var app = builder.Build();
app.MapServiceDefaults();
return await app.RunServiceAsync();
