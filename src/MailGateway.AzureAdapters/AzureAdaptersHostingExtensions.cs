using Azure.Data.Tables;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Blobs;
using MailGateway.AzureAdapters.ServiceBus;
using MailGateway.AzureAdapters.Status;
using MailGateway.AzureAdapters.Storage;
using MailGateway.Core.Queue;
using MailGateway.Core.Status;
using MailGateway.Core.Storage;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MailGateway.AzureAdapters;

/// <summary>
/// Registration of the Azure adapters. Clients come from <c>Microsoft.Extensions.Azure</c>: with a connection string
/// when one is configured (development, Azurite), otherwise with <see cref="DefaultAzureCredential"/> against the
/// configured service URI / namespace (managed identity in Azure; <c>AZURE_CLIENT_ID</c> selects a user-assigned one).
/// </summary>
public static class AzureAdaptersHostingExtensions
{
    /// <summary>Blob content store and Table status store (<see cref="AzureStorageOptions"/>).</summary>
    public static IHostApplicationBuilder AddAzureMessageStores(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<AzureStorageOptions>()
            .BindConfiguration(AzureStorageOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddAzureClients(clients =>
        {
            clients.UseCredential(_ => new DefaultAzureCredential());
            clients.AddClient<BlobServiceClient, BlobClientOptions>((options, credential, services) =>
            {
                var storage = services.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
                return string.IsNullOrWhiteSpace(storage.ConnectionString)
                    ? new BlobServiceClient(storage.BlobServiceUri, credential, options)
                    : new BlobServiceClient(storage.ConnectionString, options);
            });
            clients.AddClient<TableServiceClient, TableClientOptions>((options, credential, services) =>
            {
                var storage = services.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
                return string.IsNullOrWhiteSpace(storage.ConnectionString)
                    ? new TableServiceClient(storage.TableServiceUri, credential, options)
                    : new TableServiceClient(storage.ConnectionString, options);
            });
        });
        builder.Services.AddSingleton<IMessageContentStore, BlobMessageContentStore>();
        builder.Services.AddSingleton<IMessageStatusStore, TableMessageStatusStore>();
        return builder;
    }

    /// <summary>The sending side of the Service Bus queue: <see cref="IDeliveryQueue"/> (<see cref="ServiceBusQueueOptions"/>).</summary>
    public static IHostApplicationBuilder AddServiceBusDeliveryQueue(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ServiceBusQueueOptions>()
            .BindConfiguration(ServiceBusQueueOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddAzureClients(clients =>
        {
            clients.UseCredential(_ => new DefaultAzureCredential());
            clients.AddClient<ServiceBusClient, ServiceBusClientOptions>((options, credential, services) =>
            {
                var bus = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
                return string.IsNullOrWhiteSpace(bus.ConnectionString)
                    ? new ServiceBusClient(bus.FullyQualifiedNamespace, credential, options)
                    : new ServiceBusClient(bus.ConnectionString, options);
            });
        });
        // One sender for the queue, from the same client as the processor: a transaction (send the scheduled copy +
        // complete the original) must run on one connection.
        builder.Services.TryAddSingleton<IServiceBusJobSender>(services =>
        {
            var client = services.GetRequiredService<ServiceBusClient>();
            var queue = services.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value.QueueName;
            return new ServiceBusJobSender(client.CreateSender(queue));
        });
        builder.Services.TryAddSingleton<IDeliveryQueue, ServiceBusDeliveryQueue>();
        return builder;
    }

    /// <summary>
    /// The receiving side for the delivery worker: <see cref="IDeliveryJobProcessor"/> and <see cref="ServiceBusJobDispatcher"/>
    /// (<see cref="ServiceBusWorkerOptions"/>). The host registers the <see cref="IDeliveryJobHandler"/>.
    /// </summary>
    public static IHostApplicationBuilder AddServiceBusDeliveryProcessor(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddServiceBusDeliveryQueue();
        builder.Services.AddOptions<ServiceBusWorkerOptions>()
            .BindConfiguration(ServiceBusWorkerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton<IDeliveryJobProcessor, ServiceBusDeliveryJobProcessor>();
        builder.Services.TryAddSingleton<ServiceBusJobDispatcher>();
        return builder;
    }
}
