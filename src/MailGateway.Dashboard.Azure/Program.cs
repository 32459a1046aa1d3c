using MailGateway.Dashboard.Azure;
using MailGateway.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddAzureDashboard();
var app = builder.Build();
app.MapAzureDashboard();
return await app.RunServiceAsync();
