using MailGateway.Delivery;

var builder = WebApplication.CreateBuilder(args);
builder.AddDeliveryWorker();

var app = builder.Build();
app.MapDeliveryHealth();
await app.RunAsync();
