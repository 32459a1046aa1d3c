using MailGateway.Delivery;
using MailGateway.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddDeliveryWorker();
var app = builder.Build();
app.MapServiceDefaults();
return await app.RunServiceAsync();
