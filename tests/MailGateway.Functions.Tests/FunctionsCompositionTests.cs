using MailGateway.Api;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.Functions.Tests;

public sealed class FunctionsCompositionTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddMailGatewayFunctions();
        return builder.Build();
    }

    [Fact]
    public void The_API_runs_on_the_Azure_adapters()
    {
        using var host = Build(new()
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:AzureStorage:TableServiceUri"] = "https://contosomail.table.core.windows.net",
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
        });

        Assert.NotNull(host.Services.GetRequiredService<MessagesApi>());
        Assert.IsType<ServiceBusDeliveryQueue>(host.Services.GetRequiredService<IDeliveryQueue>());
        Assert.Equal("TableMessageStatusStore", host.Services.GetRequiredService<IMessageStatusStore>().GetType().Name);
        Assert.Equal("BlobMessageContentStore", host.Services.GetRequiredService<IMessageContentStore>().GetType().Name);
        Assert.IsType<ServiceBusDeadLetterStore>(host.Services.GetRequiredService<IDeadLetterStore>());
    }

    [Fact]
    public async Task Missing_Azure_settings_stop_the_host_with_their_names()
    {
        using var host = Build([]);

        // Every invalid options class is reported at once.
        var error = await Assert.ThrowsAsync<AggregateException>(() => host.StartAsync());

        var messages = error.InnerExceptions.Select(e => Assert.IsType<OptionsValidationException>(e).Message).ToList();
        Assert.Contains(messages, m => m.Contains("MailGateway:AzureStorage:BlobServiceUri", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("MailGateway:ServiceBus:FullyQualifiedNamespace", StringComparison.Ordinal));
    }
}
