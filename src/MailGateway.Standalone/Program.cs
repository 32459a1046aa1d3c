using MailGateway.Standalone;

// `create-api-key --id NAME …`: a new key and the hash to configure; no host is started.
if (args is [CreateApiKeyCommand.Name, .. var commandArgs])
{
    return CreateApiKeyCommand.Run(commandArgs, Console.Out, Console.Error);
}

// `create-dkim-key --domain D --selector S …`: a DKIM key pair and the DNS TXT record to publish; no host is started.
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
