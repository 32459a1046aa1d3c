using MailGateway.Standalone;

if (args is [CreateDkimKeyCommand.Name, .. var options])
{
    return CreateDkimKeyCommand.Run(options, Console.Out, Console.Error);
}

// appsettings.json is read next to the binaries; ./data is relative to the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddStandaloneGateway();
var app = builder.Build();
app.MapStandaloneGateway();
return await app.RunGatewayAsync();
