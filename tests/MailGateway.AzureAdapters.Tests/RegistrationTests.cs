using Azure.Data.Tables;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MailGateway.AzureAdapters.Tests;

public sealed class RegistrationTests
{
    private static IHost Build(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryProcessor();
        builder.Services.AddSingleton<IDeliveryJobHandler>(new DelegateHandler((context, ct) => context.CompleteAsync(ct)));
        return builder.Build();
    }

    [Fact]
    public void In_Azure_clients_use_the_configured_service_uris_and_namespace_with_a_token_credential()
    {
        // Identity-based: no key anywhere; nothing is contacted until a client is used.
        using var host = Build(new()
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:AzureStorage:TableServiceUri"] = "https://contosomail.table.core.windows.net",
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
            ["MailGateway:ServiceBus:QueueName"] = "deliveries",
        });

        var blobs = host.Services.GetRequiredService<BlobServiceClient>();
        var tables = host.Services.GetRequiredService<TableServiceClient>();
        var bus = host.Services.GetRequiredService<ServiceBusClient>();

        Assert.Equal(new Uri("https://contosomail.blob.core.windows.net"), blobs.Uri);
        Assert.False(blobs.CanGenerateAccountSasUri); // no shared key: a token credential
        Assert.Equal("contosomail", tables.AccountName);
        Assert.Equal("contoso-mail.servicebus.windows.net", bus.FullyQualifiedNamespace);
        Assert.IsType<BlobMessageContentStore>(host.Services.GetRequiredService<IMessageContentStore>());
        Assert.IsType<TableMessageStatusStore>(host.Services.GetRequiredService<IMessageStatusStore>());
        Assert.IsType<ServiceBusDeliveryQueue>(host.Services.GetRequiredService<IDeliveryQueue>());
        Assert.NotNull(host.Services.GetRequiredService<ServiceBusJobDispatcher>());
    }

    [Fact]
    public async Task In_development_connection_strings_win()
    {
        var azurite = await MailGateway.Testing.AzuriteServer.GetAsync();
        using var host = Build(new()
        {
            ["MailGateway:AzureStorage:ConnectionString"] = azurite.ConnectionString,
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://ignored.blob.core.windows.net",
            ["MailGateway:ServiceBus:ConnectionString"] = "Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=dGVzdA==",
        });

        Assert.Equal(azurite.BlobEndpoint.ToString().TrimEnd('/'), host.Services.GetRequiredService<BlobServiceClient>().Uri.ToString().TrimEnd('/'));
        Assert.True(host.Services.GetRequiredService<BlobServiceClient>().CanGenerateAccountSasUri);
        Assert.Equal("127.0.0.1", host.Services.GetRequiredService<ServiceBusClient>().FullyQualifiedNamespace);
    }

    [Fact]
    public void The_dead_letter_store_runs_on_a_client_of_its_own_against_the_same_namespace_and_queue()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:AzureStorage:TableServiceUri"] = "https://contosomail.table.core.windows.net",
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
            ["MailGateway:ServiceBus:DeadLetterScanLimit"] = "2000",
        });
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryQueue();
        builder.AddServiceBusDeadLetters();
        using var host = builder.Build();

        var client = host.Services.GetRequiredService<Microsoft.Extensions.Azure.IAzureClientFactory<ServiceBusClient>>()
            .CreateClient(AzureAdaptersHostingExtensions.DeadLetterClientName);

        Assert.IsType<ServiceBusDeadLetterStore>(host.Services.GetRequiredService<IDeadLetterStore>());
        Assert.IsType<ServiceBusDeadLetterQueue>(host.Services.GetRequiredService<IServiceBusDeadLetterQueue>());
        Assert.NotSame(host.Services.GetRequiredService<ServiceBusClient>(), client);
        Assert.Equal("contoso-mail.servicebus.windows.net", client.FullyQualifiedNamespace);
        Assert.Equal(2000, host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ServiceBusQueueOptions>>().Value.DeadLetterScanLimit);
    }

    [Fact]
    public void The_queue_numbers_come_from_an_administration_client_and_a_peek_on_the_configured_queue()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
            ["MailGateway:ServiceBus:QueuePeekLimit"] = "250",
        });
        builder.AddServiceBusDeliveryQueue();
        builder.AddServiceBusQueueMetrics();
        using var host = builder.Build();

        Assert.IsType<ServiceBusQueueMetrics>(host.Services.GetRequiredService<IServiceBusQueueMetrics>());
        Assert.NotNull(host.Services.GetRequiredService<Azure.Messaging.ServiceBus.Administration.ServiceBusAdministrationClient>());
        Assert.Equal(250, host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ServiceBusQueueOptions>>().Value.QueuePeekLimit);
        Assert.Equal(1_000, new ServiceBusQueueOptions().QueuePeekLimit);
    }

    [Theory]
    [InlineData("MailGateway:ServiceBus:QueuePeekLimit", "5")]
    [InlineData("MailGateway:ServiceBus:QueuePeekLimit", "20000")]
    [InlineData("MailGateway:ServiceBus:DeadLetterScanLimit", "10")]
    [InlineData("MailGateway:ServiceBus:DeadLetterReceiveWait", "00:05:00")]
    public async Task Service_Bus_settings_out_of_range_stop_the_host_with_their_names(string setting, string value)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:AzureStorage:TableServiceUri"] = "https://contosomail.table.core.windows.net",
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
            [setting] = value,
        });
        builder.AddAzureMessageStores();
        builder.AddServiceBusDeliveryQueue();
        builder.AddServiceBusDeadLetters();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(setting.Split(':')[^1], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_processor_settles_manually_and_renews_locks_past_the_worst_delivery()
    {
        var options = ServiceBusDeliveryJobProcessor.CreateProcessorOptions(new DeliveryWorkerOptions { Concurrency = 3 }, new ServiceBusWorkerOptions());

        Assert.False(options.AutoCompleteMessages);
        Assert.Equal(ServiceBusReceiveMode.PeekLock, options.ReceiveMode);
        Assert.Equal(3, options.MaxConcurrentCalls);
        Assert.True(options.MaxAutoLockRenewalDuration >= TimeSpan.FromMinutes(15));
        Assert.Equal(0, options.PrefetchCount);
    }

    [Fact]
    public void The_inbound_host_needs_only_the_Blob_endpoint_of_the_same_storage_settings()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:AzureStorage:InboundContainer"] = "received",
            ["MailGateway:Inbound:Tls:KeyVaultUri"] = "https://kv-tls.vault.azure.net/",
            ["MailGateway:Inbound:Tls:KeyVaultCertificateName"] = "inbound-tls",
        });
        builder.AddAzureInboundMessageStore();
        builder.AddKeyVaultServerCertificate();
        using var host = builder.Build();

        Assert.True(MailGateway.Core.Hosting.StartupValidation.TryValidate(host.Services, TextWriter.Null));
        Assert.IsType<BlobInboundMessageStore>(host.Services.GetRequiredService<MailGateway.Core.Inbound.IInboundMessageStore>());
        Assert.IsType<MailGateway.AzureAdapters.Certificates.KeyVaultServerCertificateSource>(host.Services.GetRequiredService<MailGateway.Core.Inbound.IServerCertificateSource>());
        Assert.Equal(new Uri("https://kv-tls.vault.azure.net/"), host.Services.GetRequiredService<Azure.Security.KeyVault.Certificates.CertificateClient>().VaultUri);
        Assert.False(host.Services.GetRequiredService<BlobServiceClient>().CanGenerateAccountSasUri);
    }

    [Fact]
    public void Every_client_of_a_process_shares_one_credential()
    {
        using var host = Build(new()
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:AzureStorage:TableServiceUri"] = "https://contosomail.table.core.windows.net",
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
        });

        var credentials = host.Services.GetServices<Azure.Core.TokenCredential>().ToList();

        var credential = Assert.Single(credentials);
        Assert.IsType<Azure.Identity.DefaultAzureCredential>(credential);
    }

    [Fact]
    public void The_status_store_still_needs_the_Table_endpoint()
    {
        using var host = Build(new()
        {
            ["MailGateway:AzureStorage:BlobServiceUri"] = "https://contosomail.blob.core.windows.net",
            ["MailGateway:ServiceBus:FullyQualifiedNamespace"] = "contoso-mail.servicebus.windows.net",
        });
        var error = new StringWriter();

        Assert.False(MailGateway.Core.Hosting.StartupValidation.TryValidate(host.Services, error));
        Assert.Contains("MailGateway:AzureStorage:TableServiceUri", error.ToString(), StringComparison.Ordinal);
    }
}
