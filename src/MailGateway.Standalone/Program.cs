using MailGateway.Standalone;

var builder = WebApplication.CreateBuilder(args);
builder.AddStandaloneGateway();
var app = builder.Build();
app.MapStandaloneGateway();
return await app.RunGatewayAsync();
