using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.ServiceDefaults;
using MailGateway.Testing.AzureAdapters;
using MailGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MailGateway.Delivery.Tests;

/// <summary>The real delivery host (Kestrel on a random loopback port), on Azurite, with Service Bus replaced by fakes.</summary>
internal sealed class DeliveryHostHarness : IAsyncDisposable
{
    private static readonly Lazy<string> CaBundle = new(() => TestCertificates.Shared.WriteAuthorityPemFile());

    private DeliveryHostHarness(WebApplication app, FakeProcessor processor, RecordingSender sender)
    {
        App = app;
        Processor = processor;
        Sender = sender;
    }

    public WebApplication App { get; }

    public FakeProcessor Processor { get; }

    public RecordingSender Sender { get; }

    public IServiceProvider Services => App.Services;

    public Uri BaseAddress => new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static async Task<Dictionary<string, string?>> SettingsAsync(int relayPort)
    {
        var azurite = await AzuriteServer.GetAsync();
        return new Dictionary<string, string?>
        {
            ["MailGateway:AzureStorage:ConnectionString"] = azurite.ConnectionString,
            ["MailGateway:AzureStorage:ContentContainer"] = AzuriteServer.UniqueName("outbound-"),
            ["MailGateway:AzureStorage:StatusTable"] = AzuriteServer.UniqueName("status"),
            ["MailGateway:AzureStorage:SuppressionTable"] = AzuriteServer.UniqueName("supp"),
            ["MailGateway:AzureStorage:EventFeedTable"] = AzuriteServer.UniqueName("feed"),
            ["MailGateway:AzureStorage:WebhookTable"] = AzuriteServer.UniqueName("hooks"),
            ["MailGateway:AzureStorage:IdempotencyTable"] = AzuriteServer.UniqueName("idem"),
            // Never contacted: the sender and processor are fakes. Loopback only, in case anything tried.
            ["MailGateway:ServiceBus:ConnectionString"] = "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=dGVzdA==",
            ["MailGateway:ServiceBus:QueueName"] = "outbound",
            ["MailGateway:Relay:Host"] = "127.0.0.1",
            ["MailGateway:Relay:Endpoints:0:Port"] = relayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MailGateway:Relay:Endpoints:0:Tls"] = "StartTls",
            ["MailGateway:Relay:TrustedCaBundlePath"] = CaBundle.Value,
            ["MailGateway:Relay:ConnectRetries"] = "0",
            ["MailGateway:Relay:ConnectRetryDelay"] = "00:00:00",
            ["MailGateway:DeliveryWorker:DrainTimeout"] = "00:00:30",
        };
    }

    public static async Task<DeliveryHostHarness> StartAsync(Dictionary<string, string?> settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing", ApplicationName = "MailGateway.Delivery" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddDeliveryWorker();
        var processor = new FakeProcessor();
        var sender = new RecordingSender();
        builder.Services.AddSingleton<IDeliveryJobProcessor>(processor);
        builder.Services.AddSingleton<IServiceBusJobSender>(sender);
        var app = builder.Build();
        app.MapServiceDefaults();
        await app.StartAsync();
        return new DeliveryHostHarness(app, processor, sender);
    }

    public HttpClient Client() => new() { BaseAddress = BaseAddress };

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
