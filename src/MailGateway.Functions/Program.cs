using MailGateway.Functions;
using MailGateway.ServiceDefaults;
using Microsoft.Azure.Functions.Worker.Builder;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddMailGatewayFunctions();
return await builder.Build().RunServiceAsync();
