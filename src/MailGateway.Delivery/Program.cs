using MailGateway.Core.Hosting;
using MailGateway.Delivery;

var builder = WebApplication.CreateBuilder(args);
builder.AddDeliveryWorker();

var app = builder.Build();
app.MapDeliveryHealth();
if (!StartupValidation.TryValidate(app.Services, Console.Error))
{
    return StartupValidation.InvalidConfigurationExitCode;
}

await app.RunAsync();
return 0;
