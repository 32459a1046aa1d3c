using MailGateway.Standalone;

// appsettings.json is read next to the binaries; ./data is relative to the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddStandaloneGateway();
var app = builder.Build();
app.MapStandaloneGateway();
return await app.RunGatewayAsync();
